/**
 * `s3 pull <runId|experimentId> [dir]`: copies a finished run's (or experiment's) artifacts from
 * the artifact store into a local folder (default `runs/<id>`), so that tools reading local run
 * folders (`s3 export`, `s3 predict`, a notebook) work on a run made on other machines.
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
 * Every object under `<root>/<id>/` is copied to `<dir>/<key below id>`. Before a file is written,
 * its bytes are checked against (a) the sha256 the object store recorded with the object
 * (`x-amz-meta-sha256`, S3 stores) and (b) every reference found in the run's JSON artifacts
 * (`report.json`, `results.json`, `arm-result.json`, …: objects with a `uri` or `path` and a
 * `sha256`) that names it. A mismatch writes nothing more and fails with IntegrityError. Writes are
 * atomic and idempotent (a rerun rewrites only what changed).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import type { ArtifactStore, StoreConfig } from '../store/index.js';
import { refUri } from '../store/uri.js';

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

/** One copied file. */
export interface PulledFile {
  /** path under the local folder, '/'-separated (= the key below `<id>/`) */
  file: string;
  bytes: number;
  sha256: string;
  /** false when the local file already held these bytes */
  written: boolean;
  /** what the bytes were checked against: the store's recorded sha256 and/or references naming the file */
  verified: ('store' | 'reference')[];
}

/** What a pull did. */
export interface PullSummary {
  /** the store URI of the pulled folder (`s3://bucket/prefix/<id>/`) */
  from: string;
  /** the absolute local folder */
  dir: string;
  files: PulledFile[];
  bytes: number;
  /** files that were new or changed locally */
  written: number;
  /** files whose bytes matched the sha256 the store recorded */
  verifiedByStore: number;
  /** files whose bytes matched a reference in the run's JSON artifacts */
  verifiedByReference: number;
  /** 'run' (report.json at the top), 'experiment' (results.json), else 'unfinished?' */
  kind: 'run' | 'experiment' | 'unfinished?';
}

const sha256Of = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

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
 * The sha256 an object store recorded with `key` (S3 metadata `sha256`, written by
 * S3ObjectStore.put and the Python worker's store), or undefined (local folders record none).
 */
async function recordedSha256(store: ArtifactStore, key: string): Promise<string | undefined> {
  const { S3ObjectStore } = await import('../store/index.js');
  if (!(store instanceof S3ObjectStore)) return undefined;
  const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
  const { SHA256_METADATA } = await import('../store/s3.js');
  const head = await (
    await store.client
  ).send(new HeadObjectCommand({ Bucket: store.bucket, Key: store.prefix + key }));
  return head.Metadata?.[SHA256_METADATA];
}

/**
 * References (`{uri|path, sha256}`) anywhere in a parsed JSON value, as [uri, sha256, where] triples.
 * @param where the artifact they were found in (for messages)
 */
export function referencesIn(value: unknown, where: string): { uri: string; sha256: string; where: string }[] {
  const out: { uri: string; sha256: string; where: string }[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const uri = typeof o.uri === 'string' ? o.uri : undefined;
      const p = typeof o.path === 'string' ? o.path : undefined;
      if (typeof o.sha256 === 'string' && /^[0-9a-f]{64}$/.test(o.sha256) && (uri || (p && path.isAbsolute(p))))
        out.push({ uri: refUri({ uri, path: p }), sha256: o.sha256, where });
      for (const x of Object.values(o)) walk(x);
    }
  };
  walk(value);
  return out;
}

/**
 * Copies `<store root>/<id>/` into `dir`, verifying each file's sha256 before writing it.
 * @returns what was copied (files in key order, bytes, how each was verified)
 * @throws RangeError for an id that is not a relative key; Error "nothing under <uri>" when the
 *   store holds no artifact of `id`; IntegrityError (store/types.ts) when bytes differ from the
 *   sha256 the store recorded or a reference carries (files before it in key order are written);
 *   StoreAccessError for an unreachable store, missing credentials or bucket
 */
export async function pullRun(opts: PullOptions): Promise<PullSummary> {
  const { checkKey, IntegrityError, LocalFolderStore, openStore } = await import('../store/index.js');
  checkKey(opts.id);
  const prefix = `${opts.id.replace(/\/+$/, '')}/`;
  const from = (opts.openStore ?? openStore)(opts.store);
  const dir = path.resolve(opts.dir ?? path.join('runs', opts.id));
  const to = new LocalFolderStore(dir);
  const fromUri = from.uriOf(prefix);
  const keys = await from.list(prefix);
  if (keys.length === 0)
    throw new Error(
      `nothing under ${fromUri}: check the id, the store (--config / --uri) and that the run has started`,
    );

  // the JSON artifacts first: the references they carry check every other file before it is written
  const isJson = (k: string) => k.endsWith('.json');
  const ordered = [...keys.filter(isJson), ...keys.filter((k) => !isJson(k))];
  const expected = new Map<string, { sha256: string; where: string }[]>();
  const files = new Map<string, PulledFile>();
  for (const key of ordered) {
    const stored = await recordedSha256(from, key);
    const data = await from.get(key, stored ? { sha256: stored } : {}); // IntegrityError on a mismatch
    const sha256 = sha256Of(data);
    const verified: PulledFile['verified'] = stored ? ['store'] : [];
    for (const ref of expected.get(key) ?? []) {
      if (ref.sha256 !== sha256) throw new IntegrityError(from.uriOf(key), ref.sha256, sha256);
      if (!verified.includes('reference')) verified.push('reference');
    }
    if (isJson(key)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString('utf8'));
      } catch {
        parsed = undefined; // not JSON after all: copied as bytes, carries no references
      }
      for (const ref of referencesIn(parsed, key)) {
        const k = from.keyOf(ref.uri);
        if (k === undefined || !k.startsWith(prefix)) continue;
        const seen = files.get(k.slice(prefix.length));
        if (seen) {
          // a JSON artifact referencing another one already copied (JSON files come first)
          if (seen.sha256 !== ref.sha256) throw new IntegrityError(ref.uri, ref.sha256, seen.sha256);
          if (!seen.verified.includes('reference')) seen.verified.push('reference');
        } else expected.set(k, [...(expected.get(k) ?? []), ref]);
      }
    }
    const put = await to.put(key.slice(prefix.length), data);
    files.set(key.slice(prefix.length), {
      file: key.slice(prefix.length),
      bytes: data.length,
      sha256,
      written: put.written,
      verified,
    });
  }
  const list = [...files.values()].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  for (const f of list) opts.onFile?.(f);
  const has = (f: string) => files.has(f);
  return {
    from: fromUri,
    dir,
    files: list,
    bytes: list.reduce((s, f) => s + f.bytes, 0),
    written: list.filter((f) => f.written).length,
    verifiedByStore: list.filter((f) => f.verified.includes('store')).length,
    verifiedByReference: list.filter((f) => f.verified.includes('reference')).length,
    kind: has('report.json') ? 'run' : has('results.json') ? 'experiment' : 'unfinished?',
  };
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
  $ npm run s3 -- export runs/my-run --out exported/my-run    # then use the local copy`,
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
          store = { uri: o.uri!.endsWith('/') ? o.uri! : `${o.uri!}/` };
          if (o.endpoint) store.endpoint = o.endpoint;
          if (o.region) store.region = o.region;
          if (o.pathStyle !== undefined) store.forcePathStyle = o.pathStyle;
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
