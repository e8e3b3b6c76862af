/**
 * Temporal connections the ecosystem's way: Temporal's environment configuration
 * (`@temporalio/envconfig`), as the Temporal CLI and every SDK read it:
 * - a profile from a TOML file: `TEMPORAL_CONFIG_FILE`, else `~/.config/temporalio/temporal.toml`
 *   (the profile `TEMPORAL_PROFILE`, default "default"), with address, namespace, api_key,
 *   [tls] client_cert_path / client_key_path / server_ca_cert_path / server_name, grpc_meta;
 * - overridden by the environment: `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`,
 *   `TEMPORAL_TLS` (on/off), `TEMPORAL_TLS_CLIENT_CERT_PATH` / `_DATA`,
 *   `TEMPORAL_TLS_CLIENT_KEY_PATH` / `_DATA`, `TEMPORAL_TLS_SERVER_CA_CERT_PATH` / `_DATA`,
 *   `TEMPORAL_TLS_SERVER_NAME`, `TEMPORAL_GRPC_META_<NAME>`.
 * An API key turns TLS on. Unset address and namespace default to the local dev server
 * (127.0.0.1:7233, "default"), so nothing changes for a user who sets none of this.
 *
 * Used by the worker (workers/worker.ts); the CLI connects with the same helper:
 *   `await Connection.connect(clientConnectionOptions())`  (@temporalio/client)
 *   `await NativeConnection.connect(nativeConnectionOptions())`  (@temporalio/worker)
 */
import type { ConnectionOptions } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

/** The local dev server, when neither a profile nor the environment names an address. */
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

/** A resolved connection: options for NativeConnection (worker) and Connection (client) and the namespace. */
export interface TemporalConnectConfig {
  address: string;
  namespace: string;
  /** whether TLS is on (a TLS section, TEMPORAL_TLS, client certificates or an API key) */
  tls: boolean;
  /** whether an API key is sent */
  apiKey: boolean;
  /** for `NativeConnection.connect` (@temporalio/worker) */
  native: NativeConnectionOptions & { address: string };
  /** for `Connection.connect` (@temporalio/client) */
  client: ConnectionOptions & { address: string };
}

/**
 * Loads the connection from Temporal's environment configuration.
 * @param opts.env the environment (default process.env); @param opts.profile overrides TEMPORAL_PROFILE
 * @param opts.configFile a temporal.toml to read instead of TEMPORAL_CONFIG_FILE / the default path
 * @throws Error naming the problem when the TOML file is invalid or the named profile is missing,
 *   or a certificate file cannot be read
 */
export function loadTemporalConnection(
  opts: { env?: NodeJS.ProcessEnv; profile?: string; configFile?: string } = {},
): TemporalConnectConfig {
  const env = Object.fromEntries(
    Object.entries(opts.env ?? process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  let loaded;
  try {
    loaded = loadClientConnectConfig({
      profile: opts.profile,
      overrideEnvVars: env,
      ...(opts.configFile ? { configSource: { path: opts.configFile } } : {}),
    });
  } catch (err) {
    const file = opts.configFile ?? env.TEMPORAL_CONFIG_FILE ?? '~/.config/temporalio/temporal.toml';
    throw new Error(
      `Temporal connection: cannot load profile "${opts.profile ?? env.TEMPORAL_PROFILE ?? 'default'}" from ${file}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const c = loaded.connectionOptions;
  const address = c.address || DEFAULT_TEMPORAL_ADDRESS;
  const common = {
    address,
    ...(c.tls !== undefined ? { tls: c.tls } : {}),
    ...(c.apiKey !== undefined ? { apiKey: c.apiKey } : {}),
    ...(c.metadata && Object.keys(c.metadata).length ? { metadata: c.metadata } : {}),
  };
  return {
    address,
    namespace: loaded.namespace || DEFAULT_TEMPORAL_NAMESPACE,
    tls: c.tls !== undefined && c.tls !== false,
    apiKey: c.apiKey !== undefined,
    native: common as NativeConnectionOptions & { address: string },
    client: common as ConnectionOptions & { address: string },
  };
}

/** Options for `NativeConnection.connect` from Temporal's environment configuration. */
export function nativeConnectionOptions(opts?: Parameters<typeof loadTemporalConnection>[0]) {
  return loadTemporalConnection(opts).native;
}

/** Options for `Connection.connect` (@temporalio/client) from Temporal's environment configuration. */
export function clientConnectionOptions(opts?: Parameters<typeof loadTemporalConnection>[0]) {
  return loadTemporalConnection(opts).client;
}

/**
 * The same connection pointed at another server or namespace: what a command-line flag
 * (`--address`, `--namespace`) overrides, while TLS, the API key and gRPC metadata still come
 * from the environment configuration (as the Temporal CLI's own flags do).
 * @param c a loaded connection (loadTemporalConnection); @param address host:port; @param namespace
 */
export function withServer(c: TemporalConnectConfig, address: string, namespace: string): TemporalConnectConfig {
  return {
    ...c,
    address,
    namespace,
    native: { ...c.native, address },
    client: { ...c.client, address },
  };
}

/** One line for logs: address, namespace, and whether TLS / an API key are used (never the key). */
export function describeConnection(c: TemporalConnectConfig): string {
  const extras = [c.tls ? 'TLS' : '', c.apiKey ? 'API key' : ''].filter(Boolean).join(', ');
  return `${c.address}, namespace "${c.namespace}"${extras ? ` (${extras})` : ''}`;
}
