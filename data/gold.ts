/**
 * Gold data from user files (task.source.type = "files"): labeled validation/test
 * splits and unlabeled contexts for sentence-pair seed synthesis (S3 §2.4).
 *
 * Format by extension: `.jsonl`/`.json` = JSON Lines (one object per line);
 * `.csv`/`.tsv` = delimited text with a header row. Strict: a bad record throws a
 * DatasetError naming the file and its 1-based line (CSV: the header is line 1).
 *
 * Node-only (file I/O): use from activities and scripts, never from workflows.
 */
import { basename, extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse';
import type { S3Config } from '../config/schema.js';
import type { Example } from '../domain/types.js';
import type { Rng } from '../domain/rng.js';
import { arrayHint, DatasetError, openForRead, parseJsonLine, readLines } from './jsonl.js';

/** Column/field names of a files source (config task.source.fields, defaults filled in). */
export type SourceFields = Extract<S3Config['task']['source'], { type: 'files' }>['fields'];

/** One raw record of a data file with the 1-based line it starts on. */
export interface RawRecord {
  line: number;
  record: Record<string, unknown>;
}

type Format = 'jsonl' | 'csv' | 'tsv';

function formatOf(path: string): Format {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.json') return 'jsonl';
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv') return 'tsv';
  throw new DatasetError(path, undefined, `unsupported extension "${ext}" (use .jsonl, .json, .csv or .tsv)`);
}

async function* jsonlRecords(path: string): AsyncGenerator<RawRecord> {
  for await (const { line, text } of readLines(path)) {
    const value = parseJsonLine(path, line, text);
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new DatasetError(
        path,
        line,
        `expected a JSON object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}${arrayHint(line, value)}`,
      );
    yield { line, record: value as Record<string, unknown> };
  }
}

async function* csvRecords(path: string, delimiter: string): AsyncGenerator<RawRecord> {
  const input = (await openForRead(path)).createReadStream();
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
    throw new DatasetError(path, typeof e.lines === 'number' ? e.lines : undefined, `invalid CSV: ${e.message}`, {
      cause: err,
    });
  } finally {
    input.destroy();
  }
}

/**
 * Streams the records of a JSONL or CSV/TSV file (format chosen by extension).
 * CSV values are strings; an empty cell is kept as "".
 * @throws DatasetError for a missing file, unsupported extension, invalid JSON / CSV,
 *   or a JSONL line that is not an object
 */
export function readRecords(path: string): AsyncGenerator<RawRecord> {
  const format = formatOf(path);
  return format === 'jsonl' ? jsonlRecords(path) : csvRecords(path, format === 'csv' ? ',' : '\t');
}

/** " (record has: a, b, c)" when `field` is absent from the record, to spot a wrong field name. */
function fieldsHint(record: Record<string, unknown>, field: string): string {
  if (field in record) return '';
  const keys = Object.keys(record);
  return ` (record has: ${keys.slice(0, 12).join(', ')}${keys.length > 12 ? ', …' : ''})`;
}

/** A required non-empty string field; numbers are not accepted as text. */
function requireText(path: string, line: number, record: Record<string, unknown>, field: string, role: string): string {
  const v = record[field];
  if (v === undefined || v === null || v === '')
    throw new DatasetError(path, line, `missing ${role} field "${field}"${fieldsHint(record, field)}`);
  if (typeof v !== 'string')
    throw new DatasetError(path, line, `${role} field "${field}" must be a string, got ${typeof v}`);
  if (v.trim() === '') throw new DatasetError(path, line, `${role} field "${field}" is blank`);
  return v;
}

/** A label that must be one of `labels`; a JSON number is accepted only when its decimal form is a label. */
function requireLabel(
  path: string,
  line: number,
  record: Record<string, unknown>,
  field: string,
  labels: readonly string[],
): string {
  const v = record[field];
  const allowed = labels.map((l) => JSON.stringify(l)).join(', ');
  if (v === undefined || v === null || v === '')
    throw new DatasetError(path, line, `missing label field "${field}"${fieldsHint(record, field)}`);
  if (typeof v !== 'string' && typeof v !== 'number')
    throw new DatasetError(path, line, `label field "${field}" must be a string, got ${typeof v}`);
  const label = String(v);
  if (!labels.includes(label)) {
    const shown = typeof v === 'number' ? `${v} (a number)` : JSON.stringify(v);
    throw new DatasetError(path, line, `label ${shown} is not one of the configured labels: ${allowed}`);
  }
  return label;
}

/** The id field as a string, or `<basename>:<line>` when missing/empty. */
function idOf(path: string, line: number, record: Record<string, unknown>, field: string): string {
  const v = record[field];
  if (v === undefined || v === null || v === '') return `${basename(path)}:${line}`;
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  throw new DatasetError(path, line, `id field "${field}" must be a string or number, got ${typeof v}`);
}

/**
 * Loads a labeled gold file (validation or test split) as Examples.
 * @param path .jsonl/.json (JSON Lines) or .csv/.tsv (header row) file
 * @param opts.fields user field names for text / text_pair / label / id
 * @param opts.labels the configured label set (task.labels)
 * @param opts.kind 'pair' requires the text-pair field and sets `text_pair`; 'single' ignores it
 * @returns examples in file order; id is the id field, or `<basename>:<line>` when absent
 * @throws DatasetError (file + 1-based line) for: missing/blank/non-string text or text
 *   pair, missing label or one not in `labels` (the message lists them), duplicate id,
 *   invalid JSON/CSV, a missing file, or a file without records ("… is empty")
 */
export async function loadLabeledFile(
  path: string,
  opts: { fields: SourceFields; labels: readonly string[]; kind: 'single' | 'pair' },
): Promise<Example[]> {
  const { fields, labels, kind } = opts;
  const out: Example[] = [];
  const seen = new Map<string, number>();
  for await (const { line, record } of readRecords(path)) {
    const text = requireText(path, line, record, fields.text, 'text');
    const textPair = kind === 'pair' ? requireText(path, line, record, fields.textPair, 'text pair') : undefined;
    const label = requireLabel(path, line, record, fields.label, labels);
    const id = idOf(path, line, record, fields.id);
    const first = seen.get(id);
    if (first !== undefined)
      throw new DatasetError(path, line, `duplicate id ${JSON.stringify(id)} (first on line ${first})`);
    seen.set(id, line);
    out.push(textPair === undefined ? { id, text, label } : { id, text, text_pair: textPair, label });
  }
  if (out.length === 0) throw new DatasetError(path, undefined, 'is empty (no records)');
  return out;
}

/**
 * Loads distinct context strings (premises) for sentence-pair seed synthesis (S3 §2.4):
 * the `fields.text` value of each record; labels are not read. Duplicates (after
 * trimming) are dropped; when more than `max` remain, a seeded sample of `max` is kept.
 * @param path .jsonl/.json or .csv/.tsv file
 * @param fields field names (only `text` is used)
 * @param max maximum number of contexts returned (positive integer)
 * @param rng seeded generator (consumed only when sampling is needed)
 * @returns trimmed distinct contexts: file order when <= max, else sampled order
 * @throws DatasetError for a record without text, a missing or empty file;
 *   RangeError when max is not a positive integer
 */
export async function loadContexts(
  path: string,
  fields: Pick<SourceFields, 'text'>,
  max: number,
  rng: Rng,
): Promise<string[]> {
  if (!Number.isInteger(max) || max < 1)
    throw new RangeError(`loadContexts: max must be a positive integer, got ${max}`);
  const distinct = new Set<string>();
  for await (const { line, record } of readRecords(path))
    distinct.add(requireText(path, line, record, fields.text, 'text').trim());
  if (distinct.size === 0) throw new DatasetError(path, undefined, 'is empty (no records)');
  const all = [...distinct];
  return all.length <= max ? all : rng.sample(all, max);
}

/**
 * Seeded subset of a gold split (config validationSize / testSize).
 * @param rows all rows
 * @param n rows to keep; undefined (or >= rows.length) keeps every row in the original order
 * @param rng seeded generator
 * @returns a new array: `n` rows uniformly without replacement, in sampled order
 * @throws RangeError when n is not a positive integer
 */
export function takeSample<T>(rows: readonly T[], n: number | undefined, rng: Rng): T[] {
  if (n === undefined) return rows.slice();
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`takeSample: n must be a positive integer, got ${n}`);
  return n >= rows.length ? rows.slice() : rng.sample(rows, n);
}
