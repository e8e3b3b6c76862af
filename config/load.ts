/** Reading a configuration file (our CLI, tests); Temporal CLI input is validated by the workflow. */
import { readFileSync } from 'node:fs';
import { parseExperiment, type ExperimentConfig } from './experiment.js';
import { parseConfig, type S3Config } from './schema.js';

/** Keys that would reach Object.prototype instead of the config. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * Sets `a.b.c=value` in an object (value parsed as JSON when it parses, else a string).
 * Missing objects on the path are created. A misspelled key is not caught here: the
 * configuration is validated afterwards (parseConfig), which names it and the closest key.
 * @throws Error for a missing "=", an empty key segment, `__proto__` / `prototype` /
 *   `constructor`, or a path through a value that is not an object
 */
export function setPath(obj: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq < 1) throw new Error(`--set expects key.path=value, got "${assignment}"`);
  const keys = assignment.slice(0, eq).split('.');
  for (const k of keys)
    if (k === '' || FORBIDDEN_KEYS.has(k))
      throw new Error(`--set ${assignment.slice(0, eq)}: invalid key ${JSON.stringify(k)}`);
  const raw = assignment.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    /* plain string */
  }
  let o = obj;
  for (const [i, k] of keys.slice(0, -1).entries()) {
    const next = (o[k] ??= {});
    if (typeof next !== 'object' || next === null || Array.isArray(next))
      throw new Error(`--set ${assignment.slice(0, eq)}: ${keys.slice(0, i + 1).join('.')} is not an object`);
    o = next as Record<string, unknown>;
  }
  o[keys[keys.length - 1]] = value;
}

/**
 * Reads and validates a configuration file with command-line overrides.
 * @throws Error naming the file and every invalid field
 */
export function loadConfig(file: string, sets: string[] = [], runId?: string): S3Config {
  const raw = readJsonObject(file);
  for (const s of sets) setPath(raw, s);
  if (runId) raw.runId = runId;
  return parseConfig(raw, file);
}

/**
 * Reads and validates an experiment configuration file (config/experiment.ts) with overrides.
 * @throws Error naming the file and every invalid field
 */
export function loadExperiment(file: string, sets: string[] = []): ExperimentConfig {
  const raw = readJsonObject(file);
  for (const s of sets) setPath(raw, s);
  return parseExperiment(raw, file);
}

function readJsonObject(file: string): Record<string, unknown> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read config ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error(`invalid config ${file}: expected a JSON object`);
  return raw;
}
