/**
 * The review page's local server (issue 20; `s3 review <id>`): serves the page (scripts/review/page/,
 * preact + htm from node_modules, nothing from the network) on loopback only and holds the
 * Temporal client, so the page never talks to Temporal and never sees a credential.
 *
 * HTTP API (JSON; the page and scripts/dev/auto-review.ts use the same):
 * - `GET /api/round` → {@link RoundView}: the round waiting for review with its examples
 *   (scripts/review/round.ts), or the run's phase while it runs, or its end status.
 * - `POST /api/review` `{"round": q, "decisions": [...], "by"?: "name"}` (Content-Type
 *   application/json) → 200 `{"state": SteeringState}` once the `review` Update is accepted;
 *   409 `{"error": reason, "stale": true}` when round q no longer waits (its timeout approved it,
 *   or another reviewer was first), 409 `{"error": reason}` when the workflow's validator rejects it;
 *   400 on a malformed body; 403 on a request from another origin or Host.
 *
 * Loopback only: it listens on 127.0.0.1, answers only requests whose Host is 127.0.0.1 or
 * localhost at its port (no DNS rebinding), takes a POST only as JSON from its own origin, and
 * sends a Content-Security-Policy that lets the page load scripts and connect to itself only.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { innermostMessage } from '../../domain/errors.js';
import type { ReviewDecision, ReviewInput, SteeringState } from '../../domain/steering.js';
import { loadReviewRound, type ReviewItem } from './round.js';

/** What the server needs of the workflow: its status, its progress, and the `review` Update. */
export interface ReviewBackend {
  /** the workflow's status name: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, … */
  status(): Promise<string>;
  /** the `progress` query (s3Synthesis: runDir; both workflow types: steering) */
  progress(): Promise<{ phase?: string; round?: number; runDir?: string; steering?: SteeringState }>;
  /** sends the `review` Update; throws WorkflowUpdateFailedError when its validator rejects it */
  review(input: ReviewInput): Promise<SteeringState>;
}

/** A {@link ReviewBackend} on a Temporal workflow handle (the workflow id as `s3 review <id>` takes it). */
export function temporalBackend(handle: WorkflowHandle): ReviewBackend {
  return {
    status: async () => (await handle.describe()).status.name,
    progress: () => handle.query('progress'),
    review: (input) => handle.executeUpdate<SteeringState, [ReviewInput]>('review', { args: [input] }),
  };
}

/** What `GET /api/round` answers. */
export type RoundView = { workflowId: string; by: string } & (
  | {
      state: 'waiting';
      round: number;
      labels: string[];
      examples: ReviewItem[];
      /** the review's timeout in minutes, when one is set */
      timeoutMin?: number;
      /** the run's local folder (the automated reviewer reads its gold data there) */
      runDir: string;
    }
  | { state: 'running'; phase: string; round: number; mode: string }
  | { state: 'finished'; status: string }
  | { state: 'error'; error: string }
);

export interface ReviewServerOptions {
  backend: ReviewBackend;
  workflowId: string;
  /** the reviewer's name recorded with each review (the page may change it) */
  by: string;
  /** port on 127.0.0.1; default 0 (a free port) */
  port?: number;
}

export interface ReviewServer {
  /** http://127.0.0.1:<port>/ */
  url: string;
  close(): Promise<void>;
}

const PAGE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'page');
/** the page's files and the libraries it imports (by the import map of index.html) */
const FILES: Record<string, { file: string; type: string }> = {
  '/app.js': { file: path.join(PAGE, 'app.js'), type: 'text/javascript' },
  '/style.css': { file: path.join(PAGE, 'style.css'), type: 'text/css' },
  '/vendor/preact.mjs': { file: fileURLToPath(import.meta.resolve('preact')), type: 'text/javascript' },
  '/vendor/preact-hooks.mjs': { file: fileURLToPath(import.meta.resolve('preact/hooks')), type: 'text/javascript' },
  '/vendor/htm.mjs': { file: fileURLToPath(import.meta.resolve('htm')), type: 'text/javascript' },
};
const MAX_BODY = 1 << 20;

/** The page and the Content-Security-Policy that allows its inline import map (by hash) and nothing else inline. */
function pageWithPolicy(): { html: string; csp: string } {
  const html = readFileSync(path.join(PAGE, 'index.html'), 'utf8');
  const map = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html);
  if (!map) throw new Error('scripts/review/page/index.html has no import map');
  const hash = createHash('sha256').update(map[1]).digest('base64');
  const csp = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}

/** The run folder: progress.runDir (s3Synthesis), else the folder above the data files that holds config.json (an arm). */
function runDirOf(progress: { runDir?: string }, data: string[]): string | undefined {
  if (progress.runDir) return progress.runDir;
  for (let dir = data[0] ? path.dirname(data[0]) : undefined, up = 0; dir && up < 4; dir = path.dirname(dir), up++)
    if (existsSync(path.join(dir, 'config.json'))) return dir;
  return undefined;
}

/**
 * The round view of the workflow now.
 * @param cache the last loaded round, by round and data files (a round is read once)
 */
async function roundView(o: ReviewServerOptions, cache: { key?: string; view?: RoundView }): Promise<RoundView> {
  const base = { workflowId: o.workflowId, by: o.by };
  const status = await o.backend.status();
  if (status !== 'RUNNING') return { ...base, state: 'finished', status: status.toLowerCase() };
  const p = await o.backend.progress();
  const r = p.steering?.review;
  if (!r || p.steering?.waiting !== 'review' || r.round === null)
    return { ...base, state: 'running', phase: p.phase ?? '?', round: p.round ?? 0, mode: r?.mode ?? 'none' };
  const key = `${r.round}|${r.data.join('|')}`;
  if (cache.key === key && cache.view) return cache.view;
  const runDir = runDirOf(p, r.data);
  if (!runDir) return { ...base, state: 'error', error: `round ${r.round} waits, but its run folder is unknown` };
  const round = await loadReviewRound(r, runDir);
  const view: RoundView = {
    ...base,
    state: 'waiting',
    ...round,
    ...(r.timeoutMin !== undefined ? { timeoutMin: r.timeoutMin } : {}),
    runDir,
  };
  Object.assign(cache, { key, view });
  return view;
}

/** The decisions of a POST body, or the reason they are malformed (the workflow's validator checks the rest). */
function parseReviewBody(body: unknown): { round: number; by?: string; decisions: ReviewDecision[] } | string {
  if (!body || typeof body !== 'object') return 'the body must be a JSON object';
  const { round, by, decisions } = body as Record<string, unknown>;
  if (typeof round !== 'number' || !Number.isInteger(round)) return 'round must be the round under review';
  if (by !== undefined && (typeof by !== 'string' || !by.trim())) return 'by must be a non-empty string';
  if (!Array.isArray(decisions)) return 'decisions must be an array';
  return { round, ...(by !== undefined ? { by: by.trim() } : {}), decisions: decisions as ReviewDecision[] };
}

/**
 * Starts the review server on 127.0.0.1.
 * @param o.port a port, or 0 / absent for a free one
 * @returns its URL and close()
 * @throws Error when the port is taken (EADDRINUSE) or the page files are missing
 */
export async function startReviewServer(o: ReviewServerOptions): Promise<ReviewServer> {
  const { html, csp } = pageWithPolicy();
  const cache: { key?: string; view?: RoundView } = {};
  let port = 0;
  const send = (res: http.ServerResponse, code: number, type: string, body: string | Buffer, extra = {}) => {
    res.writeHead(code, {
      'Content-Type': `${type}; charset=utf-8`,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      ...extra,
    });
    res.end(body);
  };
  const json = (res: http.ServerResponse, code: number, value: unknown) =>
    send(res, code, 'application/json', JSON.stringify(value));

  const server = http.createServer((req, res) => {
    void (async () => {
      const hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
      if (!hosts.includes(req.headers.host ?? '')) return json(res, 403, { error: 'wrong Host' });
      const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
      if (req.method === 'GET' || req.method === 'HEAD') {
        if (url.pathname === '/' || url.pathname === '/index.html')
          return send(res, 200, 'text/html', html, { 'Content-Security-Policy': csp });
        if (url.pathname === '/api/round') return json(res, 200, await roundView(o, cache));
        const f = FILES[url.pathname];
        if (f) return send(res, 200, f.type, readFileSync(f.file));
        return json(res, 404, { error: `no ${url.pathname}` });
      }
      if (req.method === 'POST' && url.pathname === '/api/review') {
        const origin = req.headers.origin;
        if (origin !== undefined && !hosts.map((h) => `http://${h}`).includes(origin))
          return json(res, 403, { error: 'wrong Origin' });
        if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
          return json(res, 415, { error: 'send application/json' });
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const c of req) {
          size += (c as Buffer).length;
          if (size > MAX_BODY) return json(res, 413, { error: 'body too large' });
          chunks.push(c as Buffer);
        }
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return json(res, 400, { error: 'the body is not JSON' });
        }
        const input = parseReviewBody(body);
        if (typeof input === 'string') return json(res, 400, { error: input });
        const now = await roundView(o, cache);
        if (now.state !== 'waiting' || now.round !== input.round)
          return json(res, 409, {
            error: `round ${input.round} is not waiting for review (now: ${now.state === 'waiting' ? `round ${now.round} waits` : now.state})`,
            stale: true,
          });
        try {
          const state = await o.backend.review({ by: input.by ?? o.by, decisions: input.decisions });
          cache.key = undefined;
          return json(res, 200, { state });
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) return json(res, 409, { error: innermostMessage(err) });
          throw err;
        }
      }
      return json(res, 405, { error: `${req.method} ${url.pathname} is not served` });
    })().catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: innermostMessage(err) });
      else res.destroy();
    });
  });
  // A client (the page, auto-review) may think for minutes between two calls on one keep-alive
  // connection; Node's default 5 s idle close then races the next request, which fails with
  // ECONNRESET (seen on a loaded machine while auto-review fitted its reference). Loopback, one
  // reviewer: keep idle connections for 10 minutes.
  server.keepAliveTimeout = 10 * 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
