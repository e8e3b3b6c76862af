/**
 * TEST DOUBLE: a fake OpenAI-compatible teacher server for tests. It is not a language
 * model: replies are deterministic templates derived from the prompt, so pipeline tests can
 * run without a model and count exactly which calls reached "the teacher".
 *
 * Loopback only (127.0.0.1), node:http, no dependencies.
 * - POST /v1/chat/completions: prompts asking for a number of reasons/rationales ("consider 5
 *   reasons …") get a numbered list ("Here are K reasons …:" then "1. …" … "K. …", K from the
 *   prompt, default 5); a difficulty question ("Answer with one number from 1 …") gets "Rating: N"
 *   with N in 1-5 from a hash; any other prompt gets one short sentence. Both mention the label word found in the prompt and
 *   vary with a hash of (prompt, seed), so repeated samples differ. `usage` counts ~4
 *   characters per token.
 * - GET /v1/models lists the model.
 * Every completion request is counted (total and per prompt+seed) and logged.
 * Fault injection (all optional): `delayMs` (slow endpoint), `faultRate` (a seeded share of
 * completion requests answered 429, 500 or not at all until the client gives up, these kinds
 * in turn), `contextChars`
 * (prompts longer than this get llama-server's HTTP 400 "exceeds the available context size"),
 * `echoAuth` (every request gets a 401 whose body echoes the Authorization header, as some
 * misbehaving proxies do), mode `hang` (no route answers).
 *
 * Also runnable as its own process (crash/resume tests):
 *   node --import tsx tests/helpers/fake-teacher.ts [--port N] [--log FILE] [--mode MODE] [--delay MS]
 *     [--labels a,b,c] [--fault-rate 0.2]
 * prints `{"baseURL": "http://127.0.0.1:N/v1"}` as its first stdout line, then appends one JSON
 * line per completion request to FILE (or stdout). SIGTERM/SIGINT close it.
 */
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

/** What the fake answers: `normal` templates; `chatty` the same wrapped in chat boilerplate
 * (cleaning must recover it); `garbage` unusable filler; `empty` ""; `error500` HTTP 500;
 * `hang` never answers (timeouts). */
export type FakeMode = 'normal' | 'chatty' | 'garbage' | 'empty' | 'error500' | 'hang';

export interface FakeTeacherOptions {
  /** port on 127.0.0.1; default 0 (random free port) */
  port?: number;
  mode?: FakeMode;
  /** label words looked for in prompts, earliest occurrence wins */
  labels?: string[];
  /** delay before each answer, ms (to observe concurrency) */
  delayMs?: number;
  /** when set, requests without `Authorization: Bearer <apiKey>` get HTTP 401 */
  apiKey?: string;
  /** when set, requests for another model get HTTP 404 (model_not_found) */
  model?: string;
  /** called with each logged request (the CLI writes them as JSON lines) */
  onRequest?: (entry: FakeRequest) => void;
  /** share in [0, 1] of completion requests that fail: a third each 429, 500, and no answer
   * (the connection stays open until the client aborts). Seeded by `faultSeed` (default 1) and
   * the request count, so a run's fault pattern is reproducible */
  faultRate?: number;
  faultSeed?: number;
  /** prompts longer than this many characters get HTTP 400 "the request exceeds the available context size" */
  contextChars?: number;
  /** answer every request with HTTP 401 quoting the request's Authorization header */
  echoAuth?: boolean;
}

/** One logged completion request. */
export interface FakeRequest {
  prompt: string;
  seed?: number;
  model?: string;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  /** llama-server's GBNF `grammar` field, when the request carried one (the fake ignores it) */
  grammar?: string;
}

export interface FakeTeacher {
  /** e.g. http://127.0.0.1:40123/v1 */
  readonly baseURL: string;
  /** completion requests received so far (errors and hangs included) */
  readonly requests: number;
  readonly requestLog: FakeRequest[];
  /** answer mode of the next requests (may be changed at any time) */
  mode: FakeMode;
  /** completion requests received for one prompt and seed */
  requestsFor(prompt: string, seed?: number): number;
  /** completions (HTTP 200) fully delivered to the client (what a paid endpoint bills) */
  readonly answered: number;
  /** completions delivered for one prompt and seed */
  answeredFor(prompt: string, seed?: number): number;
  /** requests whose client went away before the answer (e.g. its worker was killed) */
  readonly aborted: number;
  /** keys [prompt, seed] answered more than once: finished calls paid for twice */
  answeredTwice(): string[];
  /** the next `n` completion requests get HTTP `status` (default 500), then the mode applies again */
  failNext(n: number, status?: number): void;
  /** largest number of completion requests in flight at once so far */
  readonly maxInFlight: number;
  /** completion requests in flight now */
  readonly inFlight: number;
  /** faults injected so far by `faultRate` */
  readonly faults: { status429: number; status500: number; hung: number };
  close(): Promise<void>;
}

export const DEFAULT_LABELS = [
  'positive',
  'negative',
  'neutral',
  'spam',
  'ham',
  'entailment',
  'contradiction',
  'correct',
  'incorrect',
  'inconclusive',
];

const WORDS = [
  'bright', 'quiet', 'urgent', 'simple', 'strange', 'careful', 'honest', 'rapid', 'gentle', 'bold',
  'plot', 'offer', 'meeting', 'price', 'actor', 'invoice', 'ending', 'link', 'schedule', 'prize',
  'weekend', 'update', 'scene', 'account', 'story', 'report', 'music', 'deal', 'team', 'reply',
]; // prettier-ignore

/**
 * The label word of a prompt: a label right after "definitely" (sentence-pair templates of
 * S3 Table 1, whose context comes first) or "write a/an" (single-text query and mis
 * templates, whose rationales or example come first), else the label from `labels` occurring
 * earliest (whole word, case-insensitive), else 'generic'.
 */
export function labelOf(prompt: string, labels: string[] = DEFAULT_LABELS): string {
  if (!labels.length) return 'generic';
  const words = labels.map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  for (const cue of ['definitely', 'write an?']) {
    const m = new RegExp(`\\b${cue}\\s+(${words.join('|')})\\b`, 'i').exec(prompt);
    if (m) return labels.find((l) => l.toLowerCase() === m[1].toLowerCase()) ?? m[1];
  }
  let best = { at: Infinity, label: 'generic' };
  words.forEach((word, i) => {
    const m = new RegExp(`\\b${word}\\b`, 'i').exec(prompt);
    if (m && m.index < best.at) best = { at: m.index, label: labels[i] };
  });
  return best.label;
}

/** A request for a list of reasons: "consider 5 reasons", "list three rationales" … */
const REASONS_PROMPT = /\b(\d{1,2}|several|some|a few|three|four|five)\s+(?:\w+\s+)?(?:reasons|rationales)\b/i;

/**
 * The deterministic reply text of the fake in `normal` mode.
 * @param prompt the user message
 * @param seed the request's seed (absent: treated as 0)
 */
export function fakeReply(prompt: string, seed: number | undefined, labels: string[] = DEFAULT_LABELS): string {
  const label = labelOf(prompt, labels);
  const h = createHash('sha256')
    .update(`${prompt}\u0000${seed ?? 0}`)
    .digest();
  const w = (i: number) => WORDS[h[i] % WORDS.length];
  // the teacher-judge question ("Answer with one number from 1 (very easy) to 5 (very hard)")
  if (/Answer with one number from 1\b/.test(prompt)) return `Rating: ${1 + (h[0] % 5)}`;
  // extractive QA (tasks/qa.ts): a question for the asked answer, or a proposed span and its question
  const n = h.readUInt16BE(5);
  if (/Reply in two lines:\nAnswer: <answer>/.test(prompt)) {
    const context = /Given a context: ([\s\S]*?) \n/.exec(prompt)?.[1] ?? '';
    const span = context.split(/\s+/).slice(0, 2).join(' ');
    return `Answer: ${span}\nQuestion: Which ${w(0)} ${w(1)} does the passage name first (${n})?`;
  }
  if (/is the answer to(?: the following question)?:/.test(prompt))
    return `What ${w(0)} ${w(1)} is told about the ${w(2)} ${w(3)} (${n})?`;
  const asked = REASONS_PROMPT.exec(prompt);
  if (asked) {
    const k = /^\d+$/.test(asked[1]) ? Math.max(1, Number(asked[1])) : 5;
    const items = Array.from({ length: k }, (_, i) => `${i + 1}. It is ${label} because of the ${w(i)} ${w(i + 10)}.`);
    return `Here are ${k} reasons why it is ${label}:\n${items.join('\n')}`;
  }
  return `A ${w(0)} ${label} text about the ${w(1)} ${w(2)} and the ${w(3)} ${w(4)}, clearly ${label} (${h.readUInt16BE(5)}).`;
}

/**
 * Starts the fake teacher on 127.0.0.1.
 * @returns the running server's handle; `close()` stops it (pending `hang` requests are dropped)
 */
export async function startFakeTeacher(opts: FakeTeacherOptions = {}): Promise<FakeTeacher> {
  const log: FakeRequest[] = [];
  const perKey = new Map<string, number>();
  const answeredPerKey = new Map<string, number>();
  let answered = 0;
  let aborted = 0;
  const keyOf = (prompt: string, seed?: number) => JSON.stringify([prompt, seed ?? null]);
  let failures: { n: number; status: number } = { n: 0, status: 500 };
  let inFlight = 0;
  let maxInFlight = 0;
  const labels = opts.labels ?? DEFAULT_LABELS;
  const faults = { status429: 0, status500: 0, hung: 0 };
  let completions = 0;

  const state = { mode: opts.mode ?? 'normal' } as { mode: FakeMode };

  const server = http.createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const error = (status: number, message: string, code: string) =>
      send(status, { error: { message, type: 'invalid_request_error', code } });
    try {
      if (state.mode === 'hang') {
        res.on('close', () => undefined);
        return; // no route answers
      }
      if (opts.echoAuth)
        return error(
          401,
          `Incorrect API key provided: ${String(req.headers.authorization ?? '(none)')}`,
          'invalid_api_key',
        );
      if (req.method === 'GET' && req.url === '/v1/models')
        return send(200, { object: 'list', data: [{ id: opts.model ?? 'fake-teacher', object: 'model' }] });
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return error(404, 'no such route', 'not_found');
      const body = JSON.parse(await readBody(req)) as Record<string, unknown>;
      const prompt = promptOf(body.messages);
      const seed = typeof body.seed === 'number' ? body.seed : undefined;
      const entry: FakeRequest = {
        prompt,
        seed,
        model: body.model as string | undefined,
        temperature: body.temperature as number | undefined,
        top_p: body.top_p as number | undefined,
        max_tokens: body.max_tokens as number | undefined,
        ...(typeof body.grammar === 'string' ? { grammar: body.grammar } : {}),
      };
      log.push(entry);
      perKey.set(keyOf(prompt, seed), (perKey.get(keyOf(prompt, seed)) ?? 0) + 1);
      opts.onRequest?.(entry);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on('close', () => {
        inFlight--;
        if (!res.writableFinished) aborted++;
      });
      res.on('finish', () => {
        if (res.statusCode !== 200) return; // errors are not billed
        answered++;
        answeredPerKey.set(keyOf(prompt, seed), (answeredPerKey.get(keyOf(prompt, seed)) ?? 0) + 1);
      });

      if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`)
        return error(401, 'Incorrect API key provided', 'invalid_api_key');
      if (opts.model && body.model !== opts.model)
        return error(404, `The model '${String(body.model)}' does not exist`, 'model_not_found');
      const n = completions++;
      if (opts.contextChars !== undefined && prompt.length > opts.contextChars)
        return send(400, {
          error: {
            code: 400,
            message: 'the request exceeds the available context size, try increasing it',
            type: 'exceed_context_size_error',
          },
        });
      if (opts.faultRate && unit(opts.faultSeed ?? 1, n) < opts.faultRate) {
        // the kinds take turns (429, 500, no answer), so any 3 faults include each kind once
        const kind = (faults.status429 + faults.status500 + faults.hung) % 3;
        if (kind === 0) {
          faults.status429++;
          return error(429, 'injected rate limit', 'rate_limit_exceeded');
        }
        if (kind === 1) {
          faults.status500++;
          return error(500, 'injected failure', 'server_error');
        }
        faults.hung++;
        return; // no answer: the client's deadline must end it
      }
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (res.destroyed) return; // the client is gone: nothing is delivered
      if (failures.n > 0) {
        failures = { ...failures, n: failures.n - 1 };
        return error(failures.status, 'injected failure', 'server_error');
      }
      if (state.mode === 'error500') return error(500, 'injected failure', 'server_error');
      const text = replyText(state.mode, prompt, seed, labels);
      send(200, {
        id: `chatcmpl-fake-${log.length}`,
        object: 'chat.completion',
        created: 0,
        model: body.model ?? 'fake-teacher',
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage: {
          prompt_tokens: Math.ceil(prompt.length / 4),
          completion_tokens: Math.ceil(text.length / 4),
          total_tokens: Math.ceil(prompt.length / 4) + Math.ceil(text.length / 4),
        },
      });
    } catch (err) {
      if (!res.headersSent) error(400, `bad request: ${(err as Error).message}`, 'bad_request');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return log.length;
    },
    requestLog: log,
    get mode() {
      return state.mode;
    },
    set mode(m: FakeMode) {
      state.mode = m;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get inFlight() {
      return inFlight;
    },
    faults,
    requestsFor: (prompt, seed) => perKey.get(keyOf(prompt, seed)) ?? 0,
    get answered() {
      return answered;
    },
    answeredFor: (prompt, seed) => answeredPerKey.get(keyOf(prompt, seed)) ?? 0,
    get aborted() {
      return aborted;
    },
    answeredTwice: () => [...answeredPerKey].filter(([, n]) => n > 1).map(([k]) => k),
    failNext: (n, status = 500) => {
      failures = { n, status };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A reproducible number in [0, 1) from a seed and a counter (sha256-based). */
function unit(seed: number, n: number): number {
  return createHash('sha256').update(`${seed}:${n}`).digest().readUInt32BE(0) / 2 ** 32;
}

function replyText(mode: FakeMode, prompt: string, seed: number | undefined, labels: string[]): string {
  if (mode === 'empty') return '';
  if (mode === 'garbage') return ['...', '<|im_end|>', 'Sure!', '**', '"  "'][(seed ?? 0) % 5];
  const text = fakeReply(prompt, seed, labels);
  return mode === 'chatty' ? `Sure! Here is the text you asked for:\n\n"${text}"\n\nI hope this helps!` : text;
}

function promptOf(messages: unknown): string {
  if (!Array.isArray(messages)) throw new Error('messages must be an array');
  const user = [...messages].reverse().find((m) => m?.role === 'user');
  const content: unknown = user?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p?.text === 'string' ? p.text : '')).join('');
  throw new Error('no user message');
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** CLI mode (see the module docstring). */
async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const logFile = arg('log');
  const fake = await startFakeTeacher({
    port: Number(arg('port') ?? 0),
    mode: (arg('mode') as FakeMode | undefined) ?? 'normal',
    delayMs: Number(arg('delay') ?? 0),
    labels: arg('labels')?.split(','),
    faultRate: arg('fault-rate') ? Number(arg('fault-rate')) : undefined,
    onRequest: (entry) => {
      const line = `${JSON.stringify(entry)}\n`;
      if (logFile) appendFileSync(logFile, line);
      else process.stdout.write(line);
    },
  });
  process.stdout.write(`${JSON.stringify({ baseURL: fake.baseURL })}\n`);
  const stop = () => void fake.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
