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
 * A data file that cannot be used: missing, empty, not a data file, or with a bad record.
 * `file` is the path as given by the caller; `line` is the 1-based line of the bad
 * record (undefined for whole-file problems); `resolved` is the real path the data was
 * read from when it differs from the given one (a symlink). The message names all of them.
 *
 * Messages never carry more than a short excerpt of file content: every quote of a
 * value goes through `excerpt` (at most EXCERPT_CHARS characters, control characters escaped).
 */
export class DatasetError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly resolved: string | undefined;

  constructor(
    file: string,
    line: number | undefined,
    problem: string,
    options?: { cause?: unknown; resolved?: string },
  ) {
    const where = options?.resolved ? `${file} (resolved: ${options.resolved})` : file;
    super(line === undefined ? `${where}: ${problem}` : `${where}, line ${line}: ${problem}`, options);
    this.name = 'DatasetError';
    this.file = file;
    this.line = line;
    this.resolved = options?.resolved;
  }
}

/** Most characters of file content an error message quotes. */
export const EXCERPT_CHARS = 80;

/** Characters escaped in excerpts besides what JSON.stringify escapes: DEL and C1 controls,
 * line/paragraph separators, bidirectional overrides and isolates, the BOM. */
const UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * Escapes a string for an error message like JSON.stringify does (quotes, backslashes,
 * control characters, lone surrogates), plus DEL/C1 controls, U+2028/2029, bidi controls
 * and the BOM, without the surrounding quotes.
 */
export function sanitize(text: string): string {
  return JSON.stringify(text)
    .slice(1, -1)
    .replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A short, sanitised, quoted excerpt of file content for an error message: at most
 * `max` characters of `text` (a window around `at` when given), escaped by `sanitize`,
 * with "…" where text was left out.
 * @param text the content (a line, a value)
 * @param at character offset the excerpt should show (e.g. a parser's error position)
 * @param max most characters of `text` shown (default EXCERPT_CHARS)
 */
export function excerpt(text: string, at = 0, max = EXCERPT_CHARS): string {
  const start = Math.max(0, Math.min(at - Math.floor(max / 4), text.length - max));
  const end = Math.min(text.length, start + max);
  return `"${start > 0 ? '…' : ''}${sanitize(text.slice(start, end))}${end < text.length ? '…' : ''}"`;
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

/** What to do with bytes that are not valid UTF-8 (config task.source.invalidUtf8). */
export type InvalidUtf8 = 'error' | 'replace';

/** Options of the line readers. */
export interface DecodeOptions {
  /** 'error' (default): a line with invalid UTF-8 throws a DatasetError naming file and
   * line; 'replace': invalid sequences become U+FFFD and the line is counted in `stats` */
  invalidUtf8?: InvalidUtf8;
  /** receives the number of lines in which invalid UTF-8 was replaced */
  stats?: { replacedLines: number };
  /** resolved real path, shown in errors when it differs from the given path */
  resolved?: string;
}

const NEWLINE = 0x0a;

/** One decoded line: its 1-based number and its text without the line end. */
export interface Line {
  line: number;
  text: string;
}

/**
 * Decodes a byte stream as UTF-8 lines with 1-based line numbers (every line, blank ones
 * too), in batches (the complete lines of each chunk read). Line ends are "\n" or "\r\n";
 * a UTF-8 byte-order mark on line 1 is dropped. Complete lines are decoded a block at a
 * time with a fatal decoder; only a block that fails is decoded line by line to find (or
 * replace in) the bad lines. A line longer than a chunk is carried until its end.
 * @param chunks the file's bytes, in order
 * @param file the path as given, for errors
 * @throws DatasetError "invalid UTF-8" with the 1-based line, unless opts.invalidUtf8 is 'replace'
 */
export async function* decodeLineBatches(
  chunks: AsyncIterable<Buffer>,
  file: string,
  opts: DecodeOptions = {},
): AsyncGenerator<Line[]> {
  const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const lenient = new TextDecoder('utf-8', { ignoreBOM: true });
  let line = 0;
  const push = (batch: Line[], raw: string): void => {
    line++;
    let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === 1 && text.startsWith('\uFEFF')) text = text.slice(1);
    batch.push({ line, text });
  };
  const decodeSlow = (block: Buffer, batch: Line[]): void => {
    let pos = 0;
    for (;;) {
      const nl = block.indexOf(NEWLINE, pos);
      const bytes = block.subarray(pos, nl < 0 ? block.length : nl);
      let raw: string;
      try {
        raw = fatal.decode(bytes);
      } catch {
        if (opts.invalidUtf8 !== 'replace')
          throw new DatasetError(
            file,
            line + 1,
            'invalid UTF-8 (the file must be UTF-8 text; set task.source.invalidUtf8 to "replace" to read it with U+FFFD in place of the bad bytes)',
            { resolved: opts.resolved },
          );
        raw = lenient.decode(bytes);
        if (opts.stats) opts.stats.replacedLines++;
      }
      push(batch, raw);
      if (nl < 0) return;
      pos = nl + 1;
    }
  };
  const decodeBlock = (block: Buffer): Line[] => {
    const batch: Line[] = [];
    let text: string;
    try {
      text = fatal.decode(block);
    } catch {
      decodeSlow(block, batch);
      return batch;
    }
    for (const raw of text.split('\n')) push(batch, raw);
    return batch;
  };
  let pending: Buffer[] = [];
  for await (const chunk of chunks) {
    const last = chunk.lastIndexOf(NEWLINE);
    if (last < 0) {
      pending.push(chunk);
      continue;
    }
    const head = chunk.subarray(0, last);
    yield decodeBlock(pending.length ? Buffer.concat([...pending, head]) : head);
    pending = last + 1 < chunk.length ? [chunk.subarray(last + 1)] : [];
  }
  if (pending.length) yield decodeBlock(Buffer.concat(pending));
}

/** decodeLineBatches one line at a time. */
export async function* decodeLines(
  chunks: AsyncIterable<Buffer>,
  file: string,
  opts: DecodeOptions = {},
): AsyncGenerator<Line> {
  for await (const batch of decodeLineBatches(chunks, file, opts)) yield* batch;
}

/**
 * The non-blank lines of an open file with their 1-based line numbers, in batches (see
 * decodeLineBatches for line ends, the BOM and invalid UTF-8). The handle is not closed.
 */
export async function* readLineBatchesFrom(
  fh: FileHandle,
  file: string,
  opts: DecodeOptions = {},
): AsyncGenerator<Line[]> {
  const stream = fh.createReadStream({ start: 0, autoClose: false });
  try {
    for await (const batch of decodeLineBatches(stream as AsyncIterable<Buffer>, file, opts)) {
      const kept = batch.filter((l) => l.text.trim() !== '');
      if (kept.length) yield kept;
    }
  } finally {
    stream.destroy();
  }
}

/** readLineBatchesFrom one line at a time. */
export async function* readLinesFrom(fh: FileHandle, file: string, opts: DecodeOptions = {}): AsyncGenerator<Line> {
  for await (const batch of readLineBatchesFrom(fh, file, opts)) yield* batch;
}

/**
 * Streams the non-blank lines of a text file with their 1-based line numbers.
 * A UTF-8 byte-order mark on line 1 is dropped; CRLF line ends are accepted.
 * @throws DatasetError when the file cannot be opened, or (opts.invalidUtf8 'error', the
 *   default) on the first line that is not valid UTF-8
 */
export async function* readLines(path: string, opts: DecodeOptions = {}): AsyncGenerator<Line> {
  const fh = await openForRead(path);
  try {
    yield* readLinesFrom(fh, path, opts);
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
  const fh = await openForRead(path);
  try {
    for await (const batch of readLineBatchesFrom(fh, path))
      for (const { line, text } of batch) {
        rows.push(parseRecord(path, line, text, schema));
      }
  } finally {
    await fh.close();
  }
  if (rows.length === 0 && !opts.allowEmpty) throw new DatasetError(path, undefined, 'is empty (no records)');
  return rows;
}

/**
 * Parses one JSONL line and validates it with `schema` (what readJsonl does for each line).
 * @throws DatasetError naming `file` and the 1-based `line`: invalid JSON (parseJsonLine), or
 *   "record does not match the schema" with the zod issues
 */
export function parseRecord<T>(file: string, line: number, text: string, schema: z.ZodType<T>): T {
  const value = parseJsonLine(file, line, text);
  const r = schema.safeParse(value);
  if (!r.success)
    throw new DatasetError(
      file,
      line,
      `record does not match the schema: ${describeIssues(r.error)}${arrayHint(line, value)}`,
    );
  return r.data;
}

/**
 * Parses one JSONL line.
 * @param resolved the file's real path when it differs from `file` (for the message)
 * @throws DatasetError "invalid JSON" with the parser's reason, a short sanitised excerpt
 *   of the line around the error (never the whole line), and a hint for JSON arrays
 */
export function parseJsonLine(file: string, line: number, text: string, resolved?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const hint = text.trimStart().startsWith('[') ? arrayHint(line, []) : '';
    throw new DatasetError(file, line, `invalid JSON: ${jsonErrorReason((err as Error).message, text)}${hint}`, {
      cause: err,
      resolved,
    });
  }
}

/**
 * The reason of a JSON.parse error without the input V8 quotes into some messages
 * (`Unexpected token 'x', "<input>" is not valid JSON`), followed by a short excerpt of
 * the text at the error position.
 */
function jsonErrorReason(message: string, text: string): string {
  const token = /^Unexpected token '([\s\S]*?)', "[\s\S]*" is not valid JSON$/.exec(message);
  if (token) {
    // V8 gives no position here: show the text around the first occurrence of the character
    return `unexpected character ${excerpt(token[1], 0, 4)}, near ${excerpt(text, Math.max(0, text.indexOf(token[1])))}`;
  }
  const position = /^([\s\S]*?) in JSON at position (\d+)/.exec(message);
  if (position) {
    const at = Number(position[2]);
    return `${sanitize(position[1]).slice(0, 120)} at column ${at + 1}, near ${excerpt(text, at)}`;
  }
  // other engines / messages: keep no more than a sanitised, short reason
  return `${sanitize(message.replace(/, "[\s\S]*$/, '')).slice(0, 120)}, near ${excerpt(text)}`;
}

/** A hint for a JSON array on line 1 (a .json file holding an array instead of JSON Lines), else "". */
export function arrayHint(line: number, value: unknown): string {
  return line === 1 && Array.isArray(value)
    ? ' (expected JSON Lines: one JSON object per line; a JSON array is not supported)'
    : '';
}

/** rows serialized per chunk (one write() call) */
const CHUNK_ROWS = 2000;

/** `row.label` when it is a string, else undefined (the default label of writeJsonl / putJsonl). */
function defaultLabelOf(row: unknown): string | undefined {
  const label = (row as { label?: unknown } | null)?.label;
  return typeof label === 'string' ? label : undefined;
}

/** What {@link jsonlChunks} counted: lines written and label -> count. */
export interface JsonlTally {
  count: number;
  labelCounts: Record<string, number>;
}

/**
 * Serializes rows as JSON Lines in UTF-8 chunks of up to 2,000 lines, counting rows and labels
 * into `tally` as it goes (the one encoder of writeJsonl and the artifact stores' putJsonl).
 * @param rows records; each must be JSON-serializable (not undefined)
 * @param opts.labelOf label counted for a row; default `row.label` when a string
 * @param opts.what names the writer in errors, e.g. "writeJsonl seed.jsonl"
 * @throws TypeError `<what>: row N is not JSON-serializable`
 */
export function* jsonlChunks<T>(
  rows: Iterable<T>,
  tally: JsonlTally,
  opts: { labelOf?: (row: T) => string; what: string },
): Generator<Buffer> {
  const labelOf: (row: T) => string | undefined = opts.labelOf ?? defaultLabelOf;
  let chunk: string[] = [];
  for (const row of rows) {
    const json = JSON.stringify(row);
    if (json === undefined) throw new TypeError(`${opts.what}: row ${tally.count + 1} is not JSON-serializable`);
    chunk.push(json, '\n');
    tally.count++;
    const label = labelOf(row);
    if (label !== undefined) tally.labelCounts[label] = (tally.labelCounts[label] ?? 0) + 1;
    if (chunk.length >= 2 * CHUNK_ROWS) {
      // two entries (JSON, newline) per row
      yield Buffer.from(chunk.join(''), 'utf8');
      chunk = [];
    }
  }
  if (chunk.length) yield Buffer.from(chunk.join(''), 'utf8');
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
  const abs = resolve(path);
  await mkdir(dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const hash = createHash('sha256');
  const tally: JsonlTally = { count: 0, labelCounts: {} };
  const fh = await open(tmp, 'w');
  try {
    for (const buf of jsonlChunks(rows, tally, { ...opts, what: `writeJsonl ${basename(abs)}` })) {
      hash.update(buf);
      await fh.write(buf);
    }
    await fh.sync();
    await fh.close();
    await rename(tmp, abs);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  return { path: abs, sha256: hash.digest('hex'), ...tally };
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
