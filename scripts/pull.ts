/**
 * `s3 pull <runId|experimentId> [dir]`: copies a finished run's (or experiment's) artifacts from
 * the artifact store into a local folder (default `runs/<id>`), so that tools reading local run
 * folders (a notebook, a script) work on a run made on other machines (`s3 export` and `s3 predict`
 * also read a run in the store directly).
 *
 *   npm run s3 -- pull my-run --config my-run.json            # the store of the run's artifacts.uri
 *   npm run s3 -- pull spam-exp pulled/spam-exp --uri s3://bucket/runs --endpoint http://127.0.0.1:7070
 *
 * The store is the one a run or experiment configuration names (`--config`: `artifacts.uri` with its
 * endpoint, region and path style, else its local `runRoot`), or `--uri` (an `s3://bucket/prefix`
 * root, a `file://` URI or a folder) with `--endpoint`, `--region`, `--path-style`. Credentials come
 * only from the AWS SDK's environment chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE,
 * roles), never from an option.
 *
 * Every object under `<root>/<id>/` is copied to `<dir>/<key below id>` by store/pull.ts
 * pullArtifacts (the one pull implementation; this module adds the options and the printing). Before a file is written,
 * its bytes are checked against (a) the sha256 the object store recorded with the object
 * (`x-amz-meta-sha256`, S3 stores) and (b) every reference found in the run's JSON artifacts
 * (`report.json`, `results.json`, `arm-result.json`, …: objects with a `uri` or `path` and a
 * `sha256`) that names it. A mismatch writes nothing more and fails with IntegrityError. Writes are
 * atomic and idempotent (a rerun rewrites only what changed).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import type { ArtifactStore, StoreConfig } from '../store/index.js';
import type { PulledFile, PullResult } from '../store/pull.js';

export { referencesIn, type PulledFile } from '../store/pull.js';

/** Where `pullRun` reads from and writes to. */
export interface PullOptions {
  /** run id or experiment id (a key folder of the store: `my-run`, `spam-exp`, `spam-exp/s3/seed-1`) */
  id: string;
  /** local folder to copy into (relative: against the cwd); default `runs/<id>` */
  dir?: string;
  /** the store: a configuration's (see `storeConfigOfFile`) or given by URI and connection options */
  store: StoreConfig;
  /** called once per file copied, in key order */
  onFile?: (file: PulledFile) => void;
  /** opens the store (tests may pass their own); default store/index.ts openStore */
  openStore?: (config: StoreConfig) => ArtifactStore;
}

/** What a pull did: store/pull.ts's result and what the folder holds at its top. */
export interface PullSummary extends PullResult {
  /** 'run' (report.json at the top), 'experiment' (results.json), else 'unfinished?' */
  kind: 'run' | 'experiment' | 'unfinished?';
}

/**
 * The store a run or experiment configuration file names: `artifacts.uri` (with endpoint, region,
 * forcePathStyle), else its local `runRoot` (relative: against the cwd).
 * @throws Error naming the file and its invalid fields (the config schemas' messages)
 */
export async function storeConfigOfFile(file: string): Promise<StoreConfig> {
  const { isExperimentConfig } = await import('./check.js');
  const { loadConfig, loadExperiment } = await import('../config/load.js');
  const { artifactStoreOf } = await import('../activities/paths.js');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot read config ${file}: ${(err as Error).message}`, { cause: err });
  }
  const cfg = isExperimentConfig(raw) ? loadExperiment(file) : loadConfig(file);
  return artifactStoreOf(cfg);
}

/**
 * Copies `<store root>/<id>/` into `dir` with store/pull.ts pullArtifacts (each file's sha256
 * verified against the store's record and the references of the run's JSON artifacts before it
 * is written).
 * @returns what was copied (files in key order, bytes, how each was verified) and the folder's kind
 * @throws RangeError for an id that is not a relative key; Error "nothing under <uri>" when the
 *   store holds no artifact of `id` (nothing is written); IntegrityError (store/types.ts) when bytes
 *   differ from the sha256 the store recorded or a reference carries (files before it in key order
 *   are written); StoreAccessError for an unreachable store, missing credentials or bucket
 */
export async function pullRun(opts: PullOptions): Promise<PullSummary> {
  const { checkKey, openStore, pullArtifacts } = await import('../store/index.js');
  checkKey(opts.id);
  const prefix = `${opts.id.replace(/\/+$/, '')}/`;
  const from = (opts.openStore ?? openStore)(opts.store);
  const pulled = await pullArtifacts(from, prefix, opts.dir ?? path.join('runs', opts.id), { onFile: opts.onFile });
  if (pulled.files.length === 0)
    throw new Error(
      `nothing under ${pulled.from}: check the id, the store (--config / --uri) and that the run has started`,
    );
  const has = (f: string) => pulled.files.some((x) => x.file === f);
  return { ...pulled, kind: has('report.json') ? 'run' : has('results.json') ? 'experiment' : 'unfinished?' };
}

/** "1.2 MB", "340 B": a byte count for people. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(1)} ${units[u]}`;
}

/** The closing lines of a pull. */
export function describePull(s: PullSummary): string {
  const lines = [
    `pulled ${s.files.length} files, ${formatBytes(s.bytes)} (${s.bytes} bytes; ${s.written} new or changed) from ${s.from} into ${s.dir}`,
    `sha256 verified: ${s.verifiedByStore} against the store's record, ${s.verifiedByReference} against references in the run's JSON artifacts`,
  ];
  if (s.kind === 'unfinished?')
    lines.push('warning: no report.json or results.json at the top: the run or experiment may not have finished');
  return lines.join('\n');
}

/** The `pull` command for the s3 CLI. */
export function pullCommand(name = 'pull'): Command {
  return new Command(name)
    .description("copy a finished run's (or experiment's) artifacts from the artifact store into a local folder")
    .argument('<id>', 'run id or experiment id (the folder under the store root)')
    .argument('[dir]', 'local folder to copy into (default runs/<id>)')
    .option('--config <file>', 'run or experiment configuration naming the store (artifacts.uri, else runRoot)')
    .option('--uri <uri>', 'store root instead of --config: s3://bucket/prefix, file:// URI or folder')
    .option('--endpoint <url>', 'S3-compatible endpoint (with --uri; default AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)')
    .option('--region <region>', 'S3 region (with --uri; default AWS_REGION, else us-east-1)')
    .option('--path-style', 'path-style requests (with --uri; default with an endpoint)')
    .option('--no-path-style', 'virtual-hosted-style requests')
    .option('--json', 'print the summary as JSON')
    .option('--quiet', 'print only the summary, not each file')
    .addHelpText(
      'after',
      `
Credentials come from the AWS environment only (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, roles).

Examples:
  $ npm run s3 -- pull my-run --config my-run.json
  $ npm run s3 -- pull spam-exp pulled/spam-exp --uri s3://s3-synth/runs --endpoint http://127.0.0.1:7070
  $ npm run s3 -- export runs/my-run --out exported/my-run    # then use the local copy
  (s3 export and s3 predict also read a run in the store directly: s3://bucket/prefix/<runId>/)`,
    )
    .action(
      async (
        id: string,
        dir: string | undefined,
        o: {
          config?: string;
          uri?: string;
          endpoint?: string;
          region?: string;
          pathStyle?: boolean;
          json?: boolean;
          quiet?: boolean;
        },
      ) => {
        if (!o.config === !o.uri) throw new Error('pull: give the store with --config FILE or --uri URI (one of them)');
        if (o.config && (o.endpoint || o.region || o.pathStyle !== undefined))
          throw new Error('pull: --endpoint, --region and --path-style go with --uri (a config has its own)');
        let store: StoreConfig;
        if (o.config) store = await storeConfigOfFile(o.config);
        else {
          const { connectionOfOptions } = await import('./storeOptions.js');
          store = { uri: o.uri!.endsWith('/') ? o.uri! : `${o.uri!}/`, ...connectionOfOptions(o) };
        }
        const summary = await pullRun({
          id,
          dir,
          store,
          onFile:
            o.json || o.quiet
              ? undefined
              : (f) =>
                  console.log(
                    `${f.written ? 'copied' : 'same  '} ${String(f.bytes).padStart(10)}  ${f.file}` +
                      (f.verified.length ? `  (sha256 ✓ ${f.verified.join('+')})` : ''),
                  ),
        });
        console.log(o.json ? JSON.stringify(summary, null, 2) : describePull(summary));
      },
    );
}
