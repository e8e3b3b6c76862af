import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { emailToText, stripReplyNoise, truncate } from '../../data/email.js';
import { loadSpamAssassin, spamAssassinGoldSplits } from '../../data/spamassassin.js';
import { proportionalQuotas, stratifiedSplit } from '../../data/split.js';
import type { Example } from '../../domain/types.js';

const FIX = fileURLToPath(new URL('../fixtures/data/', import.meta.url));
const eml = (name: string): Promise<Buffer> => readFile(join(FIX, name));
const HEADER_NAMES =
  /\b(Return-Path|Received|Message-ID|X-Mailer|MIME-Version|Content-Type|Content-Transfer-Encoding):/i;
const count = (rows: readonly Example[], label: string): number => rows.filter((r) => r.label === label).length;

describe('emailToText', () => {
  it('plain text: headers dropped, quoted reply and list footer stripped, whitespace collapsed', async () => {
    const text = await emailToText(await eml('plain.eml'), { maxChars: 1500 });
    assert.equal(
      text,
      'Subject: Lunch on Friday?\n\nHi Bob, Are we still on for lunch on Friday? The usual place at noon. Alice',
    );
    assert.doesNotMatch(text, HEADER_NAMES);
  });

  it('decodes quoted-printable ISO-8859-1, RFC 2047 subjects, and prefers text/plain', async () => {
    const text = await emailToText(await eml('encoded.eml'), { maxChars: 1500 });
    assert.equal(
      text,
      "Subject: Offre spéciale du café\n\nBienvenue au café ! Deux crèmes pour le prix d'une, seulement cette semaine. Prix spécial: 3=2.",
    );
    assert.doesNotMatch(text, /HTML alternative|BOUNDARY42|=E9|multi-part/);
  });

  it('decodes base64 UTF-8 bodies', async () => {
    const text = await emailToText(await eml('base64.eml'), { maxChars: 1500 });
    assert.equal(
      text,
      'Subject: Weekly digest\n\nThis week: the build is green again. Thanks to everyone — nice work!',
    );
  });

  it('converts HTML-only mail to text without tags, styles, link targets or images', async () => {
    const text = await emailToText(await eml('html-only.eml'), { maxChars: 1500 });
    assert.equal(
      text,
      'Subject: You WON a FREE cruise!!!\n\nCongratulations! You have been selected for a FREE cruise & more. Act now: CLICK HERE',
    );
    assert.doesNotMatch(text, /[<>]|http|color|pixel|&nbsp;|&amp;/);
  });

  it('converts a text/plain part that is really HTML', async () => {
    const raw =
      'Subject: h\nContent-Type: text/plain\n\n<html><body><p>Buy <b>now</b></p><a href="http://x.example">here</a></body></html>\n';
    assert.equal(await emailToText(raw, { maxChars: 100 }), 'Subject: h\n\nBuy now here');
  });

  it('retries undeclared 8-bit text as Windows-1252', async () => {
    const raw = Buffer.concat([
      Buffer.from('Subject: x\n\nThe world'),
      Buffer.from([0x92]),
      Buffer.from('s caf'),
      Buffer.from([0xe9, 0x0a]),
    ]);
    assert.equal(await emailToText(raw, { maxChars: 100 }), 'Subject: x\n\nThe world\u2019s café');
  });

  it('returns "" for a message without body text and truncates to maxChars', async () => {
    assert.equal(await emailToText('Subject: only a subject\n\n   \n', { maxChars: 100 }), '');
    const text = await emailToText(`Subject: t\n\n${'word '.repeat(100)}`, { maxChars: 40 });
    assert.ok(text.length <= 40);
    assert.equal(text, 'Subject: t\n\nword word word word word');
  });
});

describe('text helpers', () => {
  it('stripReplyNoise keeps a body that is only quotes', () => {
    assert.equal(stripReplyNoise('> all quoted\n> here'), '> all quoted\n> here');
    assert.equal(stripReplyNoise('new\nJoe wrote:\n> old\nmore'), 'new\nmore');
    assert.equal(stripReplyNoise('I wrote:\nnot a quote'), 'I wrote:\nnot a quote');
  });

  it('truncate never splits a surrogate pair and prefers a word boundary', () => {
    assert.equal(truncate('ab😀cd', 3), 'ab');
    assert.equal(truncate('aaaa bbbb cccc', 11), 'aaaa bbbb');
    assert.equal(truncate('aaaa bbbb cccc', 12), 'aaaa bbbb cc'); // last space too early: hard cut
    assert.equal(truncate('short', 10), 'short');
  });

  it('proportionalQuotas sums exactly and follows proportions', () => {
    const q = proportionalQuotas(
      new Map([
        ['ham', 4108],
        ['spam', 1745],
      ]),
      200,
    );
    assert.deepEqual(
      [...q],
      [
        ['ham', 140],
        ['spam', 60],
      ],
    );
    const q3 = proportionalQuotas(
      new Map([
        ['a', 1],
        ['b', 1],
        ['c', 1],
      ]),
      2,
    );
    assert.deepEqual([...q3.values()], [1, 1, 0]);
  });

  it('stratifiedSplit rejects sizes a label cannot supply', () => {
    const rows: Example[] = [
      ...Array.from({ length: 9 }, (_, i) => ({ id: `a${i}`, text: `a${i}`, label: 'a' })),
      { id: 'b0', text: 'b0', label: 'b' },
    ];
    // 4.5 + 4.5 "a" rounds up twice (tie goes to the first label): 10 needed, 9 available
    assert.throws(
      () => stratifiedSplit(rows, { seed: 1, validationSize: 5, testSize: 5 }),
      /needs 10 "a" examples, only 9 available/,
    );
    assert.throws(() => stratifiedSplit(rows, { seed: 1, validationSize: 8, testSize: 5 }), /exceeds the 10 examples/);
  });
});

describe('SpamAssassin corpus (real data)', () => {
  it('loads both labels, clean and unique', async (t) => {
    const t0 = performance.now();
    const rows = await loadSpamAssassin({ maxChars: 1500 });
    const ham = count(rows, 'ham');
    const spam = count(rows, 'spam');
    t.diagnostic(
      `loadSpamAssassin: ${(performance.now() - t0).toFixed(0)} ms, ${rows.length} examples: ham ${ham}, spam ${spam}`,
    );
    assert.ok(ham > 3500 && ham <= 4150, `ham ${ham}`);
    assert.ok(spam > 1500 && spam <= 1896, `spam ${spam}`);
    assert.equal(ham + spam, rows.length);
    assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
    assert.equal(new Set(rows.map((r) => r.text)).size, rows.length);
    for (const r of rows) {
      assert.match(r.id, /^(easy-ham-1|easy-ham-2|hard-ham-1|spam-1|spam-2)\/\d{5}$/);
      assert.ok(r.text.startsWith('Subject: ') && r.text.length <= 1500, r.id);
    }
    // a handful of bodies legitimately quote forwarded headers (e.g. spam-2/00403); top-level headers never survive
    const headerLike = rows.filter((r) => /^(Return-Path|Received|Delivered-To):/.test(r.text.split('\n\n')[1]));
    assert.ok(headerLike.length <= 5, headerLike.map((r) => r.id).join(', '));
    const first = rows.find((r) => r.id === 'easy-ham-1/00001');
    assert.ok(first);
    assert.ok(first.text.startsWith('Subject: Re: New Sequences Window\n\n'));
    assert.doesNotMatch(first.text, /exmh-workers-admin@redhat\.com|Delivered-To|phobos\.labs/);
  });

  it('gold splits are deterministic, disjoint, exact-sized and stratified', async () => {
    const opts = { seed: 42, validationSize: 200, testSize: 1000, maxChars: 1500 };
    const a = await spamAssassinGoldSplits(opts);
    const b = await spamAssassinGoldSplits(opts);
    assert.deepEqual(a, b);
    assert.equal(a.validation.length, 200);
    assert.equal(a.test.length, 1000);
    const valIds = new Set(a.validation.map((r) => r.id));
    assert.ok(a.test.every((r) => !valIds.has(r.id)));

    const all = await loadSpamAssassin({ maxChars: 1500 });
    const spamShare = count(all, 'spam') / all.length;
    assert.ok(Math.abs(count(a.validation, 'spam') - 200 * spamShare) <= 1);
    assert.ok(Math.abs(count(a.test, 'spam') - 1000 * spamShare) <= 1);
    // both labels appear early (splits are shuffled, not grouped by label)
    assert.equal(new Set(a.validation.slice(0, 20).map((r) => r.label)).size, 2);

    const c = await spamAssassinGoldSplits({ ...opts, seed: 7 });
    assert.notDeepEqual(
      c.validation.map((r) => r.id),
      a.validation.map((r) => r.id),
    );
    await assert.rejects(spamAssassinGoldSplits({ ...opts, testSize: 6000 }), RangeError);
  });
});
