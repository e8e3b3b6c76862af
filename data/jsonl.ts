/**
 * JSON Lines artifacts: validated streaming reads, atomic writes that return a
 * DatasetRef (what travels through workflow history instead of rows), and file digests.
 *
 * Node-only (file I/O): use from activities and scripts, never from workflows.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { z } from 'zod';
import type { DatasetRef } from '../domain/types.js';

/**
 * A data file that cannot be used: missing, empty, or with a bad record.
 * `file` is the path as given by the caller; `line` is the 1-based line of the bad
 * record (undefined for whole-file problems). The message names both.
 */
export class DatasetError extends Error {
  readonly file: string;
  readonly line: number | undefined;

  constructor(file: string, line: number | undefined, problem: string, options?: { cause?: unknown }) {
    super(line === undefined ? `${file}: ${problem}` : `${file}, line ${line}: ${problem}`, options);
    this.name = 'DatasetError';
    this.file = file;
    this.line = line;
  }
}

/** Opens a file for reading, turning "not found"/"is a directory" into a DatasetError naming the path. */
export async function openForRead(path: string): Promise<FileHandle> {
  try {
    const fh = await open(path, 'r');
    if ((await fh.stat()).isDirectory()) {
      await fh.close();
      throw new DatasetError(path, undefined, 'is a directory, expected a data file');
    }
    return fh;
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : `cannot open (${(err as Error).message})`;
    throw new DatasetError(path, undefined, `${why} (resolved: ${resolve(path)})`, { cause: err });
  }
}

/**
 * Streams the non-blank lines of a text file with their 1-based line numbers.
 * A UTF-8 byte-order mark on line 1 is dropped; CRLF line ends are accepted.
 * @throws DatasetError when the file cannot be opened
 */
export async function* readLines(path: string): AsyncGenerator<{ line: number; text: string }> {
  const fh = await openForRead(path);
  try {
    let line = 0;
    for await (const raw of fh.readLines({ encoding: 'utf8' })) {
      line++;
      const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (text.trim() !== '') yield { line, text };
    }
  } finally {
    await fh.close();
  }
}

/** One-line summary of zod issues: `path: message; path: message`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');
}

/**
 * Reads a JSONL file, validating every record with `schema`. Streams line by line, so
 * memory is the size of the result, not of the file text. Blank lines are skipped.
 * @param path JSONL file (one JSON value per line, UTF-8)
 * @param schema zod schema of one record; the parsed (output) value is returned
 * @param opts.allowEmpty return [] for a file without records instead of throwing
 * @returns records in file order
 * @throws DatasetError naming the file (and 1-based line) when the file is missing, has
 *   no records, a line is not valid JSON, or a record does not match the schema
 */
export async function readJsonl<T>(
  path: string,
  schema: z.ZodType<T>,
  opts: { allowEmpty?: boolean } = {},
): Promise<T[]> {
  const rows: T[] = [];
  for await (const { line, text } of readLines(path)) {
    const value = parseJsonLine(path, line, text);
    const r = schema.safeParse(value);
    if (!r.success)
      throw new DatasetError(
        path,
        line,
        `record does not match the schema: ${describeIssues(r.error)}${arrayHint(line, value)}`,
      );
    rows.push(r.data);
  }
  if (rows.length === 0 && !opts.allowEmpty) throw new DatasetError(path, undefined, 'is empty (no records)');
  return rows;
}

/**
 * Parses one JSONL line.
 * @throws DatasetError "invalid JSON" with the parser's reason (and a hint for JSON arrays)
 */
export function parseJsonLine(file: string, line: number, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const hint = text.trimStart().startsWith('[') ? arrayHint(line, []) : '';
    throw new DatasetError(file, line, `invalid JSON: ${(err as Error).message}${hint}`, { cause: err });
  }
}

/** A hint for a JSON array on line 1 (a .json file holding an array instead of JSON Lines), else "". */
export function arrayHint(line: number, value: unknown): string {
  return line === 1 && Array.isArray(value)
    ? ' (expected JSON Lines: one JSON object per line; a JSON array is not supported)'
    : '';
}

/** rows serialized per write() call */
const CHUNK_ROWS = 2000;

/** `row.label` when it is a string, else undefined (the default label of writeJsonl). */
function defaultLabelOf(row: unknown): string | undefined {
  const label = (row as { label?: unknown } | null)?.label;
  return typeof label === 'string' ? label : undefined;
}

/**
 * Writes rows as JSON Lines, atomically: the bytes go to a temporary file in the same
 * directory, are fsynced, then renamed over `path`, so readers never see a partial file.
 * Parent directories are created. Rows are serialized in chunks (100k rows is fine).
 * @param path destination (relative paths resolve against the cwd)
 * @param rows records; each must be JSON-serializable to an object/value (not undefined)
 * @param opts.labelOf label counted in `labelCounts` for a row; default `row.label` when a string
 *   (rows without one are not counted)
 * @returns DatasetRef: absolute path, sha256 (hex) of the written bytes, count of lines,
 *   label -> count
 * @throws TypeError when a row does not serialize to JSON; fs errors (the temp file is removed)
 */
export async function writeJsonl<T>(
  path: string,
  rows: Iterable<T>,
  opts: { labelOf?: (row: T) => string } = {},
): Promise<DatasetRef> {
  const labelOf: (row: T) => string | undefined = opts.labelOf ?? defaultLabelOf;
  const abs = resolve(path);
  await mkdir(dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const hash = createHash('sha256');
  const labelCounts: Record<string, number> = {};
  let count = 0;
  const fh = await open(tmp, 'w');
  try {
    let chunk: string[] = [];
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const bytes = Buffer.from(chunk.join(''), 'utf8');
      chunk = [];
      hash.update(bytes);
      await fh.write(bytes);
    };
    for (const row of rows) {
      const json = JSON.stringify(row);
      if (json === undefined)
        throw new TypeError(`writeJsonl ${basename(abs)}: row ${count + 1} is not JSON-serializable`);
      chunk.push(json, '\n');
      count++;
      const label = labelOf(row);
      if (label !== undefined) labelCounts[label] = (labelCounts[label] ?? 0) + 1;
      if (chunk.length >= 2 * CHUNK_ROWS) await flush();
    }
    await flush();
    await fh.sync();
    await fh.close();
    await rename(tmp, abs);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  return { path: abs, sha256: hash.digest('hex'), count, labelCounts };
}

/**
 * SHA-256 of a file's bytes, streamed.
 * @returns lowercase hex digest (64 characters)
 * @throws DatasetError naming the path when the file cannot be opened
 */
export async function sha256File(path: string): Promise<string> {
  const fh = await openForRead(path);
  const hash = createHash('sha256');
  // the stream owns the handle from here and closes it (also on error)
  for await (const buf of fh.createReadStream()) hash.update(buf as Buffer);
  return hash.digest('hex');
}
