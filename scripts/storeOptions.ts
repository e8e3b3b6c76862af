/**
 * How the CLI's readers (`s3 export`, `s3 predict`; `s3 pull` shares the connection options) find
 * artifacts in the artifact store: a folder argument that is a store URI
 * (`s3://bucket/prefix/<runId>/`), or a run id under the store a run or experiment configuration
 * names (`--config FILE`: `artifacts.uri` with its endpoint, region and path style, else its local
 * `runRoot`). The S3 endpoint, region and path style come from `--endpoint`, `--region`,
 * `--path-style` / `--no-path-style`, else from the configuration's artifacts section, else from
 * the AWS SDK's environment (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_REGION). Credentials come
 * only from the AWS environment chain, never from an option or a file of this project.
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { StoreConfig } from '../store/types.js';
import { pathOfFileUri, schemeOf } from '../store/uri.js';

/** The store options of a command, as commander parses them. */
export interface StoreCliOptions {
  /** a run or experiment configuration file naming the store */
  config?: string;
  endpoint?: string;
  region?: string;
  /** true: --path-style, false: --no-path-style, undefined: the default */
  pathStyle?: boolean;
}

/** Where a CLI argument's artifacts are: a local folder, or a folder of a store. */
export type ArtifactsLocation =
  | { kind: 'local'; dir: string }
  /** `store.uri` is the folder itself (ending in "/"), so its keys are relative to it */
  | { kind: 'store'; store: StoreConfig };

/**
 * Adds `--endpoint`, `--region`, `--path-style`, `--no-path-style` to `cmd`, and `--config <file>`
 * when `configHelp` is given.
 * @param configHelp the help line of `--config`
 */
export function addStoreOptions(cmd: Command, configHelp?: string): Command {
  if (configHelp) cmd.option('--config <file>', configHelp);
  return cmd
    .option('--endpoint <url>', 'S3-compatible endpoint (default AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)')
    .option('--region <region>', 'S3 region (default AWS_REGION, else us-east-1)')
    .option('--path-style', 'path-style requests (default with an endpoint)')
    .option('--no-path-style', 'virtual-hosted-style requests');
}

/** The connection options given on the command line (only those given). */
export function connectionOfOptions(o: StoreCliOptions): Omit<StoreConfig, 'uri'> {
  const out: Omit<StoreConfig, 'uri'> = {};
  if (o.endpoint) out.endpoint = o.endpoint;
  if (o.region) out.region = o.region;
  if (o.pathStyle !== undefined) out.forcePathStyle = o.pathStyle;
  return out;
}

/** A folder URI ending in "/". */
const folder = (uri: string) => (uri.endsWith('/') ? uri : `${uri}/`);

/**
 * Where `arg` (a store URI, a run id or a local folder) names artifacts.
 * - an `s3://` URI: that folder of the object store, with the command line's connection options,
 *   else those of `--config`'s artifacts section (when it names an object store);
 * - a `file://` URI: its local folder;
 * - with `--config`, anything else is a key folder under the configuration's store
 *   (`<artifacts.uri>/<arg>/`, or `<runRoot>/<arg>` for a local one);
 * - otherwise undefined: the caller resolves the local argument as it always did.
 * @param what the command, for messages ("export")
 * @throws Error when `--config` and connection options are both given, or for a scheme no store
 *   reads; Error / RangeError from the configuration (store/local.ts checkKey for an id leaving the store)
 */
export async function artifactsLocationOf(
  arg: string,
  o: StoreCliOptions,
  what: string,
): Promise<ArtifactsLocation | undefined> {
  const given = connectionOfOptions(o);
  if (o.config && Object.keys(given).length)
    throw new Error(`${what}: --endpoint, --region and --path-style go without --config (a config has its own)`);
  const scheme = schemeOf(arg);
  if (scheme === 'file') return { kind: 'local', dir: pathOfFileUri(arg) };
  if (scheme !== undefined && scheme !== 's3')
    throw new Error(`${what}: cannot read ${scheme}:// URIs (${arg}); give an s3:// URI, a file:// URI or a folder`);
  if (!o.config) return scheme === 's3' ? { kind: 'store', store: { uri: folder(arg), ...given } } : undefined;
  const { storeConfigOfFile } = await import('./pull.js');
  const { checkKey } = await import('../store/local.js');
  const root = await storeConfigOfFile(o.config);
  const { uri: rootUri, ...connection } = root;
  if (scheme === 's3')
    return { kind: 'store', store: { uri: folder(arg), ...(schemeOf(rootUri) === 's3' ? connection : {}) } };
  const key = arg.replace(/\/+$/, '');
  checkKey(key);
  if (schemeOf(rootUri) === 's3') return { kind: 'store', store: { ...root, uri: `${folder(rootUri)}${key}/` } };
  const local = schemeOf(rootUri) === 'file' ? pathOfFileUri(rootUri) : rootUri;
  return { kind: 'local', dir: path.join(local, key) };
}
