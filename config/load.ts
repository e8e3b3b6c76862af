/** Reading a configuration file (our CLI, tests); Temporal CLI input is validated by the workflow. */
import { readFileSync } from 'node:fs';
import { parseConfig, type S3Config } from './schema.js';

/** Sets `a.b.c=value` in an object (value parsed as JSON when it parses, else a string). */
export function setPath(obj: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq < 1) throw new Error(`--set expects key.path=value, got "${assignment}"`);
  const keys = assignment.slice(0, eq).split('.');
  const raw = assignment.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    /* plain string */
  }
  let o = obj;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[keys[keys.length - 1]] = value;
}

/**
 * Reads and validates a configuration file with command-line overrides.
 * @throws Error naming the file and every invalid field
 */
export function loadConfig(file: string, sets: string[] = [], runId?: string): S3Config {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read config ${file}: ${(err as Error).message}`, { cause: err });
  }
  for (const s of sets) setPath(raw, s);
  if (runId) raw.runId = runId;
  return parseConfig(raw, file);
}
