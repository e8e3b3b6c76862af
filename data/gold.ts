/**
 * Gold data from user files (task.source.type = "files"): labeled validation/test
 * splits and unlabeled contexts for sentence-pair seed synthesis (S3 §2.4).
 *
 * Format by the extension of the file's real path: `.jsonl`/`.json` = JSON Lines (one
 * object per line); `.csv`/`.tsv` = delimited text with a header row. Strict: a bad record
 * throws a DatasetError naming the file and its 1-based line (CSV: the header is line 1),
 * quoting at most a short sanitised excerpt of the content.
 *
 * Hostile-input limits:
 * - paths go through `openDataFile` (data/paths.ts): a regular file with a data extension,
 *   symlinks only to such files, checked before anything is read;
 * - text must be valid UTF-8 (error with file and line), unless `invalidUtf8: 'replace'`
 *   (then the number of lines with replaced bytes is returned);
 * - every gold text / text pair / context longer than `maxChars` (config task.maxChars,
 *   default DEFAULT_MAX_CHARS) is cut to it; the row records `truncatedFrom`.
 *
 * Node-only (file I/O): use from activities and scripts, never from workflows.
 */
import { Readable } from 'node:stream';
import type { FileHandle } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse';
import type { S3Config } from '../config/schema.js';
import type { Example } from '../domain/types.js';
import type { Rng } from '../domain/rng.js';
import {
  arrayHint,
  DatasetError,
  decodeLineBatches,
  excerpt,
  parseJsonLine,
  readLinesFrom,
  sanitize,
  type DecodeOptions,
  type InvalidUtf8,
} from './jsonl.js';
import { openDataFile, type ResolvedDataFile } from './paths.js';
import { taskKindOf, type TaskKindName } from '../tasks/index.js';

/** Default of config task.maxChars: longest gold text (characters) kept as is. */
export const DEFAULT_MAX_CHARS = 4000;

/** Column/field names of a files source (config task.source.fields, defaults filled in). */
export type SourceFields = Extract<S3Config['task']['source'], { type: 'files' }>['fields'];

/** One raw record of a data file with the 1-based line it starts on. */
export interface RawRecord {
  line: number;
  record: Record<string, unknown>;
}

type Format = 'jsonl' | 'csv' | 'tsv';

/** Where errors point: the given path, and the real path when a symlink was followed. */
interface Where {
  path: string;
  resolved: string | undefined;
}

function whereOf(file: ResolvedDataFile): Where {
  return { path: file.given, resolved: file.viaSymlink ? file.resolved : undefined };
}

function fail(w: Where, line: number | undefined, problem: string, cause?: unknown): DatasetError {
  return new DatasetError(w.path, line, problem, { resolved: w.resolved, cause });
}

function formatOf(file: ResolvedDataFile): Format {
  const ext = extname(file.resolved).toLowerCase();
  if (ext === '.jsonl' || ext === '.json') return 'jsonl';
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv') return 'tsv';
  throw fail(whereOf(file), undefined, `unsupported extension "${ext}" (use .jsonl, .json, .csv or .tsv)`);
}

async function* jsonlRecords(fh: FileHandle, w: Where, opts: DecodeOptions): AsyncGenerator<RawRecord> {
  for await (const { line, text } of readLinesFrom(fh, w.path, { ...opts, resolved: w.resolved })) {
    const value = parseJsonLine(w.path, line, text, w.resolved);
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw fail(
        w,
        line,
        `expected a JSON object, got ${Array.isArray(value) ? 'an array' : excerpt(JSON.stringify(value))}${arrayHint(line, value)}`,
      );
    yield { line, record: value as Record<string, unknown> };
  }
}

async function* csvRecords(
  fh: FileHandle,
  w: Where,
  delimiter: string,
  opts: DecodeOptions,
): AsyncGenerator<RawRecord> {
  // decoded (and UTF-8-checked) line by line, then parsed; line ends are normalised to "\n"
  const bytes = fh.createReadStream({ start: 0, autoClose: false });
  async function* text(): AsyncGenerator<string> {
    for await (const batch of decodeLineBatches(bytes as AsyncIterable<Buffer>, w.path, {
      ...opts,
      resolved: w.resolved,
    }))
      yield batch.map((l) => `${l.text}\n`).join('');
  }
  const input = Readable.from(text());
  const parser = input.pipe(
    parseCsv({ columns: true, delimiter, bom: true, skip_empty_lines: true, info: true, raw: true }),
  );
  input.on('error', (err) => parser.destroy(err));
  try {
    for await (const row of parser as AsyncIterable<{
      record: Record<string, string>;
      raw: string;
      info: { lines: number };
    }>) {
      // info.lines is the line the record ends on; step back over newlines inside quoted fields
      const body = row.raw.replace(/^[\r\n]+/, '').replace(/\r?\n$/, '');
      yield { line: row.info.lines - (body.match(/\n/g)?.length ?? 0), record: row.record };
    }
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    const e = err as { lines?: unknown; message: string };
    // csv-parse messages may quote content: keep a sanitised, bounded reason
    throw fail(
      w,
      typeof e.lines === 'number' ? e.lines : undefined,
      `invalid CSV: ${sanitize(e.message).slice(0, 200)}`,
      err,
    );
  } finally {
    input.destroy();
    bytes.destroy();
  }
}

/** Options of the record readers. */
export interface ReadOptions {
  /** config task.source.invalidUtf8 (default 'error') */
  invalidUtf8?: InvalidUtf8;
  /** receives the number of lines with invalid UTF-8 replaced by U+FFFD */
  stats?: { replacedLines: number };
}

/**
 * Streams the records of a JSONL or CSV/TSV file (format chosen by the real path's
 * extension). The path is resolved and checked (openDataFile) before anything is read.
 * CSV values are strings; an empty cell is kept as "".
 * @throws DatasetError for a missing file, a non-regular file, a symlink to a non-data file,
 *   unsupported extension, invalid UTF-8 (unless opts.invalidUtf8 is 'replace'), invalid
 *   JSON / CSV, or a JSONL line that is not an object
 */
export async function* readRecords(path: string, opts: ReadOptions = {}): AsyncGenerator<RawRecord> {
  const { fh, file } = await openDataFile(path);
  try {
    yield* recordsOf(fh, file, opts);
  } finally {
    await fh.close();
  }
}

/** The records of an opened data file (format by the real path's extension); the handle is not closed. */
function recordsOf(fh: FileHandle, file: ResolvedDataFile, opts: ReadOptions): AsyncGenerator<RawRecord> {
  const format = formatOf(file);
  const w = whereOf(file);
  return format === 'jsonl' ? jsonlRecords(fh, w, opts) : csvRecords(fh, w, format === 'csv' ? ',' : '\t', opts);
}

/**
 * Cuts `text` to at most `maxChars` UTF-16 code units (never in the middle of a surrogate pair).
 * @returns the text, and its original length when it was cut
 */
export function truncateText(text: string, maxChars: number): { text: string; from?: number } {
  if (text.length <= maxChars) return { text };
  let end = maxChars;
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return { text: text.slice(0, end), from: text.length };
}

/**
 * Applies the gold length limit to one example: `text` and `text_pair` longer than
 * `maxChars` are cut, and `truncatedFrom` records their original lengths.
 * @returns the (new) example and whether anything was cut
 */
export function limitExample(row: Example, maxChars: number): { row: Example; truncated: boolean } {
  const t = truncateText(row.text, maxChars);
  const p = row.text_pair === undefined ? undefined : truncateText(row.text_pair, maxChars);
  if (t.from === undefined && p?.from === undefined) return { row, truncated: false };
  const truncatedFrom: NonNullable<Example['truncatedFrom']> = { ...row.truncatedFrom };
  if (t.from !== undefined) truncatedFrom.text = t.from;
  if (p?.from !== undefined) truncatedFrom.text_pair = p.from;
  const out: Example = { ...row, text: t.text, truncatedFrom };
  if (p) out.text_pair = p.text;
  return { row: out, truncated: true };
}

/** " (record has: a, b, c)" when `field` is absent from the record, to spot a wrong field name. */
function fieldsHint(record: Record<string, unknown>, field: string): string {
  if (field in record) return '';
  const keys = Object.keys(record).map((k) => (k.length > 30 ? `${sanitize(k.slice(0, 30))}…` : sanitize(k)));
  let shown = keys.slice(0, 12).join(', ');
  if (shown.length > 120) shown = `${shown.slice(0, 120)}…`;
  return ` (record has: ${shown}${keys.length > 12 ? ', …' : ''})`;
}

/** A required non-empty string field; numbers are not accepted as text. */
function requireText(w: Where, line: number, record: Record<string, unknown>, field: string, role: string): string {
  const v = record[field];
  if (v === undefined || v === null || v === '')
    throw fail(w, line, `missing ${role} field "${field}"${fieldsHint(record, field)}`);
  if (typeof v !== 'string') throw fail(w, line, `${role} field "${field}" must be a string, got ${typeof v}`);
  if (v.trim() === '') throw fail(w, line, `${role} field "${field}" is blank`);
  return v;
}

/** A label that must be one of `labels`; a JSON number is accepted only when its decimal form is a label. */
function requireLabel(
  w: Where,
  line: number,
  record: Record<string, unknown>,
  field: string,
  labels: readonly string[],
): string {
  const v = record[field];
  const allowed = labels.map((l) => JSON.stringify(l)).join(', ');
  if (v === undefined || v === null || v === '')
    throw fail(w, line, `missing label field "${field}"${fieldsHint(record, field)}`);
  if (typeof v !== 'string' && typeof v !== 'number')
    throw fail(w, line, `label field "${field}" must be a string, got ${typeof v}`);
  const label = String(v);
  if (!labels.includes(label)) {
    const shown = typeof v === 'number' ? `${excerpt(label).slice(1, -1)} (a number)` : excerpt(v);
    throw fail(w, line, `label ${shown} is not one of the configured labels: ${allowed}`);
  }
  return label;
}

/** The id field as a string, or `<basename>:<line>` when missing/empty. */
function idOf(w: Where, line: number, record: Record<string, unknown>, field: string): string {
  const v = record[field];
  if (v === undefined || v === null || v === '') return `${basename(w.path)}:${line}`;
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  throw fail(w, line, `id field "${field}" must be a string or number, got ${typeof v}`);
}

/** Cuts a text to `maxChars`; a text that is blank within its first `maxChars` is refused. */
function limitText(
  w: Where,
  line: number,
  text: string,
  maxChars: number,
  role: string,
): { text: string; from?: number } {
  const t = truncateText(text, maxChars);
  if (t.from !== undefined && t.text.trim() === '')
    throw fail(w, line, `${role} is blank in its first ${maxChars} characters (task.maxChars)`);
  return t;
}

function checkMaxChars(maxChars: number): void {
  if (!Number.isInteger(maxChars) || maxChars < 1)
    throw new RangeError(`maxChars must be a positive integer, got ${maxChars}`);
}

/** Options of loadGoldFile / loadLabeledFile. */
export interface GoldFileOptions {
  /** user field names for text / text_pair / label / id */
  fields: SourceFields;
  /** the configured label set (task.labels) */
  labels: readonly string[];
  /** the task kind (config task.kind), which reads the input fields of a record: 'pair'
   * requires the text-pair field and sets `text_pair`; 'single' ignores it (tasks/) */
  kind: TaskKindName;
  /** config task.maxChars: longer text / text_pair is cut (default DEFAULT_MAX_CHARS) */
  maxChars?: number;
  /** config task.source.invalidUtf8 (default 'error') */
  invalidUtf8?: InvalidUtf8;
}

/** A loaded gold split with what the limits changed. */
export interface GoldFile {
  /** examples in file order */
  rows: Example[];
  /** rows whose text or text_pair was cut to maxChars (they carry `truncatedFrom`) */
  truncated: number;
  /** lines whose invalid UTF-8 was replaced by U+FFFD (invalidUtf8 'replace'; else 0) */
  replacedLines: number;
  /** absolute real path the rows were read from */
  resolvedPath: string;
}

/**
 * Loads a labeled gold file (validation or test split) as Examples, applying the input
 * limits (path checks, UTF-8, maxChars).
 * @param path .jsonl/.json (JSON Lines) or .csv/.tsv (header row) file; a symlink only to such a file
 * @returns rows (id is the id field, or `<basename>:<line>` when absent; text/text_pair cut
 *   to maxChars with `truncatedFrom` set), the number of truncated rows and of lines with
 *   replaced invalid UTF-8, and the resolved path
 * @throws DatasetError (file + 1-based line; the resolved path too when a symlink was
 *   followed) for: a path that is not a regular data file (checked before reading),
 *   invalid UTF-8 (unless invalidUtf8 'replace'), missing/blank/non-string text or text
 *   pair, missing label or one not in `labels` (the message lists them), duplicate id,
 *   invalid JSON/CSV, a missing file, or a file without records ("… is empty");
 *   RangeError when maxChars is not a positive integer
 */
export async function loadGoldFile(path: string, opts: GoldFileOptions): Promise<GoldFile> {
  const { fields, labels, maxChars = DEFAULT_MAX_CHARS } = opts;
  const task = taskKindOf(opts);
  checkMaxChars(maxChars);
  const stats = { replacedLines: 0 };
  const { fh, file } = await openDataFile(path);
  const w = whereOf(file);
  const rows: Example[] = [];
  let truncated = 0;
  const seen = new Map<string, number>();
  try {
    for await (const { line, record } of recordsOf(fh, file, { invalidUtf8: opts.invalidUtf8, stats })) {
      const { input, truncatedFrom } = task.readInput(fields, {
        text: (field, role) => limitText(w, line, requireText(w, line, record, field, role), maxChars, role),
      });
      const label = requireLabel(w, line, record, fields.label, labels);
      const id = idOf(w, line, record, fields.id);
      const first = seen.get(id);
      if (first !== undefined) throw fail(w, line, `duplicate id ${excerpt(id)} (first on line ${first})`);
      seen.set(id, line);
      const row: Example = { id, ...input, label };
      if (truncatedFrom) {
        truncated++;
        row.truncatedFrom = truncatedFrom;
      }
      rows.push(row);
    }
  } finally {
    await fh.close();
  }
  if (rows.length === 0) throw fail(w, undefined, 'is empty (no records)');
  return { rows, truncated, replacedLines: stats.replacedLines, resolvedPath: file.resolved };
}

/**
 * loadGoldFile's rows alone (defaults: maxChars DEFAULT_MAX_CHARS, invalid UTF-8 is an error).
 * @see loadGoldFile for the options, the result and the errors
 */
export async function loadLabeledFile(path: string, opts: GoldFileOptions): Promise<Example[]> {
  return (await loadGoldFile(path, opts)).rows;
}

/** Options of loadContextsFile. */
export interface ContextsFileOptions {
  /** config task.maxChars: longer contexts are cut (default DEFAULT_MAX_CHARS) */
  maxChars?: number;
  /** config task.source.invalidUtf8 (default 'error') */
  invalidUtf8?: InvalidUtf8;
}

/** Loaded contexts with what the limits changed. */
export interface ContextsFile {
  /** trimmed distinct contexts, each at most maxChars long */
  contexts: string[];
  /** returned contexts that were cut to maxChars */
  truncated: number;
  /** lines whose invalid UTF-8 was replaced by U+FFFD (invalidUtf8 'replace'; else 0) */
  replacedLines: number;
  /** absolute real path the contexts were read from */
  resolvedPath: string;
}

/**
 * Loads distinct context strings (premises) for sentence-pair seed synthesis (S3 §2.4):
 * the `fields.text` value of each record; labels are not read. Each is trimmed and cut to
 * `maxChars`; duplicates are dropped; when more than `max` remain, a seeded sample of `max` is kept.
 * @param path .jsonl/.json or .csv/.tsv file; a symlink only to such a file
 * @param fields field names (only `text` is used)
 * @param max maximum number of contexts returned (positive integer)
 * @param rng seeded generator (consumed only when sampling is needed)
 * @returns contexts (file order when <= max, else sampled order), how many of them were
 *   truncated, lines with replaced invalid UTF-8, the resolved path
 * @throws DatasetError for a path that is not a regular data file, invalid UTF-8 (unless
 *   'replace'), a record without text, a missing or empty file;
 *   RangeError when max or maxChars is not a positive integer
 */
export async function loadContextsFile(
  path: string,
  fields: Pick<SourceFields, 'text'>,
  max: number,
  rng: Rng,
  opts: ContextsFileOptions = {},
): Promise<ContextsFile> {
  const { maxChars = DEFAULT_MAX_CHARS } = opts;
  if (!Number.isInteger(max) || max < 1)
    throw new RangeError(`loadContexts: max must be a positive integer, got ${max}`);
  checkMaxChars(maxChars);
  const stats = { replacedLines: 0 };
  const { fh, file } = await openDataFile(path);
  const w = whereOf(file);
  /** context -> was it cut */
  const distinct = new Map<string, boolean>();
  try {
    for await (const { line, record } of recordsOf(fh, file, { invalidUtf8: opts.invalidUtf8, stats })) {
      const t = limitText(w, line, requireText(w, line, record, fields.text, 'text').trim(), maxChars, 'text');
      const text = t.text.trimEnd();
      if (!distinct.has(text) || t.from !== undefined) distinct.set(text, t.from !== undefined);
    }
  } finally {
    await fh.close();
  }
  if (distinct.size === 0) throw fail(w, undefined, 'is empty (no records)');
  const all = [...distinct.keys()];
  const contexts = all.length <= max ? all : rng.sample(all, max);
  return {
    contexts,
    truncated: contexts.filter((c) => distinct.get(c)).length,
    replacedLines: stats.replacedLines,
    resolvedPath: file.resolved,
  };
}

/**
 * loadContextsFile's contexts alone (defaults: maxChars DEFAULT_MAX_CHARS, invalid UTF-8 is an error).
 * @see loadContextsFile
 */
export async function loadContexts(
  path: string,
  fields: Pick<SourceFields, 'text'>,
  max: number,
  rng: Rng,
  opts: ContextsFileOptions = {},
): Promise<string[]> {
  return (await loadContextsFile(path, fields, max, rng, opts)).contexts;
}

/**
 * The gold-loading options a files source config asks for (task.maxChars, task.source.invalidUtf8).
 * @example loadGoldFile(src.validation, { ...goldOptionsOf(config), fields: src.fields, labels: task.labels, kind: task.kind })
 */
export function goldOptionsOf(config: S3Config): { maxChars: number; invalidUtf8: InvalidUtf8 } {
  const src = config.task.source;
  return { maxChars: config.task.maxChars, invalidUtf8: src.type === 'files' ? src.invalidUtf8 : 'error' };
}

/** Seeded subset of a gold split: moved to data/split.ts (pure), re-exported here. */
export { takeSample } from './split.js';
