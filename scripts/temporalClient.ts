/**
 * The CLI's Temporal connection: Temporal's environment configuration (workers/connection.ts:
 * a `temporal.toml` profile, `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`,
 * `TEMPORAL_TLS_*`, `TEMPORAL_PROFILE`), the same the worker and the Python worker load, with the
 * CLI's `--address` / `--namespace` flags overriding the profile's server and namespace.
 *
 *   const client = await connectClient(program.opts<GlobalOptions>());
 */
import { Client, Connection } from '@temporalio/client';
import {
  DEFAULT_TEMPORAL_ADDRESS,
  DEFAULT_TEMPORAL_NAMESPACE,
  loadTemporalConnection,
  withServer,
  type TemporalConnectConfig,
} from '../workers/connection.js';

/** The flags every command shares (scripts/s3.ts). */
export interface GlobalOptions {
  address: string;
  namespace: string;
  taskQueue: string;
}

let loaded: TemporalConnectConfig | Error | undefined;
function load(): TemporalConnectConfig | Error {
  if (loaded === undefined) {
    try {
      loaded = loadTemporalConnection();
    } catch (err) {
      loaded = err as Error;
    }
  }
  return loaded;
}

/**
 * The defaults of `--address` and `--namespace`: the environment configuration's, else the
 * local dev server's (127.0.0.1:7233, "default"). Never throws: a broken profile is reported
 * when a command connects (cliConnection), so `s3 check` and `s3 export` still work.
 */
export function connectionDefaults(): { address: string; namespace: string } {
  const c = load();
  return c instanceof Error
    ? { address: DEFAULT_TEMPORAL_ADDRESS, namespace: DEFAULT_TEMPORAL_NAMESPACE }
    : { address: c.address, namespace: c.namespace };
}

/**
 * The connection a command uses: the environment configuration with the flags' server and namespace.
 * @throws Error naming the profile file and the problem when the configuration cannot be loaded
 */
export function cliConnection(g: Pick<GlobalOptions, 'address' | 'namespace'>): TemporalConnectConfig {
  const c = load();
  if (c instanceof Error) throw c;
  return withServer(c, g.address, g.namespace);
}

/**
 * A client for the flags' server and namespace, with TLS / API key from the environment configuration.
 * @throws Error when the configuration cannot be loaded or the server cannot be reached
 */
export async function connectClient(g: Pick<GlobalOptions, 'address' | 'namespace'>): Promise<Client> {
  const c = cliConnection(g);
  return new Client({ connection: await Connection.connect(c.client), namespace: c.namespace });
}
