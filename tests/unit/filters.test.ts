/**
 * The quality filters (issue 18 item 2) and seed demonstrations (item 4), with known answers:
 * - meta-talk rules on 168 real outputs of the default teacher (SmolLM2-135M-Instruct, Q4_1)
 *   from SpamAssassin runs, each marked by hand as meta-talk or not
 *   (tests/fixtures/filters/smollm2-135m-spamassassin.jsonl), on 39 outputs collected later
 *   (…-later.jsonl), and on real rationales;
 * - near-duplicates (MinHash/LSH with bloom-filters) against exact Jaccard similarities;
 * - the self-check prompt and the parsing of its answers;
 * - OutputFilters.check: order, drops with reasons, tallies, the self-check's calls and budget;
 * - the reference filter on a reference fitted to gold data written through the store;
 * - demonstrations: seeded choice, prompt, copy check; the configuration and the arms.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { filtersSentence, OutputFilters, type FilterCandidate } from '../../activities/filters.js';
import type { TaskRefs } from '../../activities/prepare.js';
import { armConfig, parseExperiment } from '../../config/experiment.js';
import { parseConfig, type S3Config } from '../../config/schema.js';
import { copiesDemo, DEMO_MAX_CHARS, pickDemos, withDemos } from '../../domain/demos.js';
import type { ArmSeedResult, ExperimentSummary } from '../../domain/experiment.js';
import { addUsage, emptyUsage } from '../../domain/types.js';
import { FILTERS_HEAD, filterRows } from '../../report/experimentReport.js';
import { metaTalkRules } from '../../quality/filters/metaTalk.js';
import { jaccard, NearDuplicateIndex, shingles } from '../../quality/filters/nearDuplicates.js';
import { activeFilters, mergeFilters, FiltersSchema } from '../../quality/filters/schema.js';
import { labelList, parseSelfCheck, selfCheckPrompt } from '../../quality/filters/selfCheck.js';
import { LocalFolderStore } from '../../store/index.js';
import type { TeacherCall } from '../../teacher/index.js';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'filters', 'smollm2-135m-spamassassin.jsonl');
const real: { id: string; label: string; text: string; meta: boolean }[] = readFileSync(FIXTURE, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const spam = metaTalkRules({ item: 'email', labelWords: ['normal (not spam)', 'spam'] });

describe('meta-talk rules', () => {
  test('on 168 real outputs of the default teacher: 71 of 79 meta-talk outputs caught, 3 of 89 others flagged', () => {
    const hit = real.map((x) => spam.output(x.text) !== null);
    const caught = real.filter((x, i) => x.meta && hit[i]).length;
    const flagged = real.filter((x, i) => !x.meta && hit[i]).map((x) => x.id);
    assert.equal(real.length, 168);
    assert.equal(real.filter((x) => x.meta).length, 79);
    assert.equal(caught, 71);
    assert.deepEqual(flagged, ['129', '134', '145']);
  });

  test('on 39 later outputs (collected after the rules were written; one rule added after): 8 of 9 caught, 2 of 30 flagged', () => {
    const later: typeof real = readFileSync(FIXTURE.replace('.jsonl', '-later.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const hit = later.map((x) => spam.output(x.text) !== null);
    assert.equal(later.length, 39);
    assert.equal(later.filter((x, i) => x.meta && hit[i]).length, 8);
    assert.equal(later.filter((x) => x.meta).length, 9);
    assert.deepEqual(
      later.filter((x, i) => !x.meta && hit[i]).map((x) => x.id),
      ['later-31', 'later-38'], // spam that says "I'm here to help you get a million dollars"
    );
  });

  test('each rule on a real output (known answers)', () => {
    const cases: [string, string | null][] = [
      [
        "I'm sorry for the mistake. Here's a normal (not spam) email for you to submit: Subject: Social Media",
        'apology',
      ],
      [
        "I'm an AI designed to help you edit your text and assist with editing and improving written content.",
        'assistant',
      ],
      ['I’m sorry for the misunderstanding, but as a text-based AI, I don’t support emails.', 'assistant'],
      [
        'This is an example of a spam email, which is a non-adsafe, scam email, using a suspicious domain.',
        'announcement',
      ],
      ["Here's the revised email: Subject: Custom Email", 'announcement'],
      ['To write a normal (not spam) email with header: Instead of "S" at the top', 'label-echo'],
      [
        "I'll provide a normal email that contains only the text message that contains only 1 text message per day.",
        'label-echo',
      ],
      ["I'll make that sentence with a couple of extra commas: Subject: LifeGem", 'about-request'],
      ['I just read an email that has Your password is not the password you gave to a service provider', 'prompt-echo'],
      ["It looks like you just read an email, so it's likely that something went wrong.", 'prompt-echo'],
      // content, not talk about the request
      ['Subject: Best Price on DVD on the net? Click here to buy!!!! Hello, everyone', null],
      ['Dear John, I hope this email finds you well. We have been provided with a matter of importance to us', null],
      ['Subject: Is Rap Music Art? Date: 2002-10-01T08:34:09+01:00', null],
    ];
    for (const [text, rule] of cases) assert.equal(spam.output(text), rule, text);
  });

  test('rationales: prompt echoes, label echoes and assistant talk, not reasons', () => {
    assert.equal(
      spam.rationale('Social media: 5 reasons that may lead to a normal email include checking LinkedIn'),
      'label-echo',
    );
    assert.equal(spam.rationale('5 reasons that may lead to a spam include links'), 'prompt-echo');
    assert.equal(spam.rationale('This is not a normal email'), 'label-echo');
    assert.equal(spam.rationale("I'm here to help you with your list"), 'assistant');
    for (const r of [
      'A business proposal',
      'An invitation to a party',
      'Uncaught malware',
      'Incorrect email address is used for spam',
    ])
      assert.equal(spam.rationale(r), null, r);
  });

  test('built for the task: a movie review task has its own item and labels', () => {
    const sst = metaTalkRules({ item: 'movie review', labelWords: ['negative', 'positive'] });
    assert.equal(sst.output('Here is a positive movie review: a charming film.'), 'announcement');
    assert.equal(sst.output('This is a negative review of the film.'), 'announcement');
    assert.equal(sst.output('It was hard to write a negative review of such a film.'), 'label-echo');
    assert.equal(sst.output('a charming , funny and touching film .'), null);
    assert.equal(sst.output('Here is a normal (not spam) email'), null); // not this task's words
  });
});

describe('near-duplicates (MinHash/LSH, bloom-filters)', () => {
  const a =
    'Dear John, I hope this email finds you well. We have been provided with a matter of importance to us and I will not hesitate to make any effort to resolve it.';
  const b =
    'Dear Sarah, I hope this email finds you well. We have been provided with a matter of importance to us and I will not hesitate to make every effort to resolve it.';
  const c =
    'Subject: Best Price on DVD on the net? Click here to buy!!!! Hello, everyone, and welcome to the Best Price on DVD.';

  test('shingles and exact Jaccard', () => {
    assert.deepEqual(shingles('A b, c d'), ['a b c', 'b c d']);
    assert.deepEqual(shingles('two words'), ['two words']);
    assert.equal(jaccard('a b c d', 'a b c e'), 1 / 3);
    assert.equal(jaccard(a, b).toFixed(3), '0.714');
    assert.equal(jaccard(a, c), 0);
  });

  test('finds the near-duplicate with an estimate close to the exact similarity, not the unrelated text', () => {
    const idx = new NearDuplicateIndex(0.6, 42);
    idx.add('a', a);
    idx.add('c', c);
    const m = idx.nearest(b);
    assert.equal(m?.key, 'a');
    assert.ok(Math.abs(m!.similarity - jaccard(a, b)) < 0.12, `estimate ${m!.similarity}`);
    assert.equal(idx.nearest('A completely different message about gardening and tomatoes in the spring.'), null);
    assert.equal(idx.nearest(''), null);
    idx.remove('a');
    assert.equal(idx.nearest(b), null);
  });

  test('a threshold above the similarity keeps it; the same seed gives the same sketches', () => {
    const strict = new NearDuplicateIndex(0.95, 42);
    strict.add('a', a);
    assert.equal(strict.nearest(b), null);
    assert.deepEqual(
      new NearDuplicateIndex(0.7, 1).sketch(a)!._signature,
      new NearDuplicateIndex(0.7, 1).sketch(a)!._signature,
    );
  });
});

describe('self-check', () => {
  const labels = ['ham', 'spam'];
  const words = ['normal (not spam)', 'spam'];

  test('the question names the label words and shows the output', () => {
    assert.equal(labelList(['a', 'b', 'c']), '"a", "b" or "c"');
    assert.equal(
      selfCheckPrompt({ kind: 'single', item: 'email', labelWords: words, example: 'Win a prize now!' }),
      'Read the following email and say whether it is "normal (not spam)" or "spam". Answer with the label only.\n\nWin a prize now!\n\nAnswer:',
    );
    const pair = selfCheckPrompt({
      kind: 'pair',
      item: 'sentence',
      labelWords: ['correct', 'incorrect'],
      example: 'A man sleeps.',
      context: 'A man runs.',
    });
    assert.match(
      pair,
      /^A man runs\.\n.*is the following sentence "correct" or "incorrect"\?.*\n\nSentence: A man sleeps\./s,
    );
    assert.equal(
      selfCheckPrompt({
        template: '{item}? {labels}: {example}',
        kind: 'single',
        item: 'email',
        labelWords: words,
        example: 'x',
      }),
      'email? "normal (not spam)" or "spam": x',
    );
  });

  test('answers: the earliest label named, the longest phrase at the same place; none or a tie is null', () => {
    const p = (a: string) => parseSelfCheck(a, labels, words);
    assert.equal(p('spam'), 'spam');
    assert.equal(p(' Spam.'), 'spam');
    assert.equal(p('normal (not spam)'), 'ham');
    assert.equal(p('Not spam.'), 'ham');
    assert.equal(p('It is normal.'), 'ham');
    assert.equal(p('ham'), 'ham');
    assert.equal(p('This email is spam, not normal'), 'spam');
    assert.equal(p('Yes'), null);
    assert.equal(p('spammy'), null);
  });
});

/** A run configuration on a small single-text task with the given filters. */
function configWith(filters: Record<string, unknown>): S3Config {
  return parseConfig({
    task: {
      item: 'email',
      labels: ['ham', 'spam'],
      labelWords: { ham: 'normal (not spam)' },
      source: { type: 'files', validation: 'v.jsonl', test: 't.jsonl' },
    },
    teacher: { provider: 'openai', baseURL: 'http://127.0.0.1:1/v1', model: 'm' },
    synthesis: { filters },
  });
}

const cand = (id: string, label: string, output: string, sampleIndex = 0): FilterCandidate => ({
  id,
  label,
  output,
  input: { text: output },
  sampleIndex,
});

describe('OutputFilters.check', () => {
  const store = new LocalFolderStore(mkdtempSync(path.join(tmpdir(), 's3-filters-')));
  after(() => rmSync(store.root, { recursive: true, force: true }));

  test('no filter configured: no OutputFilters (the activity runs as before)', async () => {
    assert.equal(await OutputFilters.open(store, configWith({}), undefined), null);
    const none = parseConfig({ ...configWith({}), synthesis: {} });
    assert.equal(none.synthesis.filters, undefined);
    assert.equal(await OutputFilters.open(store, none, undefined), null);
  });

  test('meta-talk, then near-duplicates (training set, earlier outputs), then the paid self-check', async () => {
    const cfg = configWith({ metaTalk: true, nearDuplicates: true, selfCheck: true });
    const train = ['Subject: Cheap meds online, order today and save ninety percent on every single order you place'];
    const f = (await OutputFilters.open(store, cfg, undefined, train))!;
    assert.deepEqual(f.active, ['metaTalk', 'nearDuplicates', 'selfCheck']);
    const asked: TeacherCall[][] = [];
    const ask = async (calls: TeacherCall[], sampling: { temperature: number; maxTokens: number }) => {
      asked.push(calls);
      assert.deepEqual([sampling.temperature, sampling.maxTokens], [0, 8]);
      // answers "spam" for texts with "prize", "normal" for the others
      return calls.map((c) => ({
        text: /prize/.test(c.prompt) ? 'spam' : 'normal',
        promptTokens: 10,
        completionTokens: 1,
        cached: false,
      }));
    };
    const cands = [
      cand('s0', 'ham', "I'm here to help you with your message.", 100),
      cand(
        's1',
        'spam',
        'Subject: Cheap meds online, order today and save ninety percent on every single order you place now',
        200,
      ),
      cand('s2', 'spam', 'You won a prize! Claim your reward at the link below before Friday.', 300),
      cand('s3', 'spam', 'You won a prize! Claim your reward at the link below before Friday night.', 400),
      cand('s4', 'spam', 'Meeting moved to 3pm on Thursday, see the agenda attached.', 500),
      cand('s5', 'ham', 'Meeting notes from Tuesday: the build is green and the release is on track.', 600),
    ];
    const out = await f.check(cands, ask as never);
    assert.deepEqual(
      out.map((d) => d?.reason ?? null),
      [
        'metaTalk:assistant',
        'nearDuplicates:jaccard', // of the training set
        null, // self-check answers spam, as asked
        'nearDuplicates:jaccard', // of s2, kept before it in the batch
        'selfCheck:other-label', // answered normal, asked spam
        null,
      ],
    );
    assert.match(out[3]!.detail, /near-duplicate of s2/);
    // the teacher was asked about the three outputs that passed the free filters, at their sample indices
    assert.deepEqual(
      asked.flat().map((c) => c.sampleIndex),
      [300, 500, 600],
    );
    assert.deepEqual(f.tally(), {
      metaTalk: { checked: 6, dropped: 1 },
      nearDuplicates: { checked: 5, dropped: 2 },
      selfCheck: { checked: 3, dropped: 1, calls: 3, tokens: 33 },
    });
    // a later batch: an output close to a kept one is a near-duplicate; one close to a dropped one is not
    const later = await f.check(
      [
        cand('t0', 'spam', 'You won a prize! Claim your reward at the link below before Friday, hurry.'),
        cand('t1', 'ham', 'Meeting moved to 3pm on Thursday, see the agenda attached please.'),
      ],
      ask as never,
    );
    assert.deepEqual(
      later.map((d) => d?.reason ?? null),
      ['nearDuplicates:jaccard', null],
    );
  });

  test('self-check: an unclear answer is kept or dropped as configured; past the budget nothing is kept unchecked', async () => {
    const unclear = async (calls: TeacherCall[]) =>
      calls.map(() => ({ text: 'Yes.', promptTokens: 5, completionTokens: 1, cached: true }));
    const keep = (await OutputFilters.open(store, configWith({ selfCheck: true }), undefined))!;
    assert.deepEqual(await keep.check([cand('a', 'spam', 'Win big money now, click here!')], unclear as never), [null]);
    const drop = (await OutputFilters.open(
      store,
      configWith({ selfCheck: true, selfCheckUnclear: 'drop' }),
      undefined,
    ))!;
    assert.equal(
      (await drop.check([cand('a', 'spam', 'Win big money now, click here!')], unclear as never))[0]?.reason,
      'selfCheck:unclear',
    );
    // the session's budget answered only the first call
    const broke = (await OutputFilters.open(store, configWith({ selfCheck: true }), undefined))!;
    const first = async (calls: TeacherCall[]) =>
      calls.slice(0, 1).map(() => ({ text: 'spam', promptTokens: 5, completionTokens: 1, cached: false }));
    const v = await broke.check(
      [cand('a', 'spam', 'Win big money now!'), cand('b', 'spam', 'Cheap watches here today!')],
      first as never,
    );
    assert.deepEqual(
      v.map((d) => d?.reason ?? null),
      [null, 'selfCheck:budget'],
    );
    assert.deepEqual(broke.tally().selfCheck, { checked: 2, dropped: 1, calls: 1, tokens: 6 });
  });

  test('reference: drops outputs whose asked label the gold-trained reference gives p below referenceMinProb', async () => {
    const rows = Array.from({ length: 40 }, (_, i) =>
      i % 2
        ? { id: `v${i}`, label: 'spam', text: `win cash prize free money click now offer ${i}` }
        : { id: `v${i}`, label: 'ham', text: `meeting agenda notes for the project review on tuesday ${i}` },
    );
    const validation = await store.putJsonl('gold/validation.jsonl', rows, { labelOf: (r) => r.label });
    const task = { validation } as unknown as TaskRefs;
    const f = (await OutputFilters.open(store, configWith({ reference: true }), task))!;
    const out = await f.check(
      [
        cand('r0', 'spam', 'free cash prize, click now for the offer'),
        cand('r1', 'spam', 'notes of the project meeting agenda for tuesday'),
        cand('r2', 'ham', 'agenda for the project review meeting'),
      ],
      (async () => []) as never,
    );
    assert.deepEqual(
      out.map((d) => d?.reason ?? null),
      [null, 'reference:low-probability', null],
    );
    assert.match(out[1]!.detail, /reference p\(spam\) = 0\.\d+ < 0\.5 \(it says ham\)/);
    assert.deepEqual(f.tally(), { reference: { checked: 3, dropped: 1 } });
  });

  test('rationales: only meta-talk applies', async () => {
    const f = (await OutputFilters.open(store, configWith({ metaTalk: true }), undefined))!;
    assert.equal(f.rationale('5 reasons that may lead to a spam email include links'), 'metaTalk:label-echo');
    assert.equal(f.rationale('A request for a massage'), null);
    assert.deepEqual(f.tally(), { metaTalk: { checked: 2, dropped: 1 } });
  });
});

describe('filter tallies in the usage', () => {
  test('addUsage adds them by filter and leaves usage without filters unchanged', () => {
    const plain = addUsage(emptyUsage(), emptyUsage());
    assert.equal('filters' in plain, false);
    const a = { ...emptyUsage(), filters: { metaTalk: { checked: 4, dropped: 1 } } };
    const b = {
      ...emptyUsage(),
      filters: { metaTalk: { checked: 2, dropped: 2 }, selfCheck: { checked: 3, dropped: 0, calls: 3, tokens: 30 } },
    };
    assert.deepEqual(addUsage(a, b).filters, {
      metaTalk: { checked: 6, dropped: 3 },
      selfCheck: { checked: 3, dropped: 0, calls: 3, tokens: 30 },
    });
    assert.deepEqual(addUsage(emptyUsage(), a).filters, { metaTalk: { checked: 4, dropped: 1 } });
  });
});

describe('filters in the reports', () => {
  test('report.md: one sentence with what each filter dropped and the self-check’s cost', () => {
    assert.equal(
      filtersSentence({
        metaTalk: { checked: 20, dropped: 3 },
        selfCheck: { checked: 17, dropped: 5, calls: 17, tokens: 900 },
      }),
      'Filters: metaTalk dropped 3 of 20 outputs; selfCheck dropped 5 of 17 outputs (17 teacher calls, 900 tokens, counted above) (rejected outputs with reasons: synthetic/*.rejected.jsonl).',
    );
  });

  test('experiment report: per arm and filter, summed over finished seeds; arms without filters have no row', () => {
    const result = (
      arm: string,
      seed: number,
      status: 'completed' | 'failed',
      filters?: ArmSeedResult['usage']['filters'],
    ) => ({ arm, seed, status, usage: { ...emptyUsage(), ...(filters ? { filters } : {}) } }) as ArmSeedResult;
    const summary = {
      arms: [
        { name: 's3', method: 's3' },
        { name: 's3-self-check', method: 's3' },
      ],
      results: [
        result('s3', 1, 'completed'),
        result('s3-self-check', 1, 'completed', { selfCheck: { checked: 10, dropped: 4, calls: 10, tokens: 500 } }),
        result('s3-self-check', 2, 'completed', { selfCheck: { checked: 10, dropped: 1, calls: 10, tokens: 450 } }),
        result('s3-self-check', 3, 'failed', { selfCheck: { checked: 99, dropped: 99, calls: 99, tokens: 9999 } }),
      ],
    } as unknown as ExperimentSummary;
    assert.equal(FILTERS_HEAD.length, 7);
    assert.deepEqual(filterRows(summary), [['s3-self-check', 'selfCheck', '20', '5', '25.0%', '20', '950']]);
  });
});

describe('seed demonstrations', () => {
  const pool = Array.from({ length: 10 }, (_, i) => ({ id: `g${i}`, text: `spam example number ${i}` }));

  test('k distinct examples, the same for the same seed and index, cut to DEMO_MAX_CHARS', () => {
    const d = pickDemos(pool, 2, 7, 3);
    assert.equal(new Set(d.ids).size, 2);
    assert.deepEqual(pickDemos(pool, 2, 7, 3), d);
    assert.notDeepEqual(pickDemos(pool, 2, 7, 4).ids, d.ids);
    assert.deepEqual(pickDemos(pool.slice(0, 1), 3, 7, 0).ids, ['g0']);
    assert.deepEqual(pickDemos([], 2, 7, 0), { ids: [], texts: [] });
    const long = pickDemos([{ id: 'l', text: 'x'.repeat(1000) }], 1, 1, 0).texts[0];
    assert.equal(long.length, DEMO_MAX_CHARS);
    assert.ok(long.endsWith('…'));
  });

  test('the prompt shows them above the seed prompt; a copy of one is recognised', () => {
    assert.equal(
      withDemos('Now you should write a spam email.', ['Win a prize', 'Cheap\nmeds'], { item: 'email', label: 'spam' }),
      'Here are examples of a spam email:\n- Win a prize\n- Cheap meds\n\nNow you should write a spam email.',
    );
    assert.equal(withDemos('P', [], { item: 'email', label: 'spam' }), 'P');
    assert.equal(
      withDemos('P', ['x'], { item: 'email', label: 'ad' }).startsWith('Here are examples of an ad email'),
      true,
    );
    assert.equal(copiesDemo('Win a prize today, click the link!', ['Win a prize today, click the link']), true);
    assert.equal(
      copiesDemo('Meeting at noon in room 4, bring the slides.', ['Win a prize today, click the link']),
      false,
    );
  });
});

describe('configuration', () => {
  test('synthesis.filters: every filter off unless turned on; unknown keys are named', () => {
    const f = FiltersSchema.parse({ selfCheck: true });
    assert.deepEqual(activeFilters(f), ['selfCheck']);
    assert.deepEqual(activeFilters(FiltersSchema.parse({})), []);
    assert.deepEqual(activeFilters(undefined), []);
    assert.throws(
      () => configWith({ metaTalks: true }),
      /synthesis\.filters\.metaTalks: unknown key \(did you mean "metaTalk"\?\)/,
    );
    assert.throws(() => configWith({ referenceMinProb: 2 }), /referenceMinProb/);
  });

  test('an arm’s filters and seedDemos over the experiment’s; other arms keep the experiment’s (here none)', () => {
    const exp = parseExperiment(JSON.parse(readFileSync('configs/experiments/quality-spamassassin.json', 'utf8')));
    const byName = Object.fromEntries(exp.arms.map((a) => [a.name ?? a.method, armConfig(exp, a, 1)]));
    assert.equal(byName.s3.synthesis.filters, undefined);
    assert.equal(byName.s3.synthesis.seedDemos, undefined);
    assert.deepEqual(activeFilters(byName['s3-meta-talk'].synthesis.filters), ['metaTalk']);
    assert.deepEqual(activeFilters(byName['s3-self-check'].synthesis.filters), ['selfCheck']);
    assert.deepEqual(activeFilters(byName['s3-reference'].synthesis.filters), ['reference']);
    assert.deepEqual(activeFilters(byName['s3-near-duplicates'].synthesis.filters), ['nearDuplicates']);
    assert.equal(byName['s3-balanced'].synthesis.classCap, 'balanced');
    assert.equal(byName['s3-demos'].method, 's3-demos');
    assert.equal(byName['s3-demos'].synthesis.classCap, 'none');
    assert.deepEqual(
      mergeFilters(FiltersSchema.parse({ metaTalk: true, nearDuplicateJaccard: 0.9 }), {
        metaTalk: false,
        selfCheck: true,
      }),
      FiltersSchema.parse({ metaTalk: false, selfCheck: true, nearDuplicateJaccard: 0.9 }),
    );
    const withDemoArm = parseExperiment({
      ...exp,
      arms: [
        { method: 's3-demos', seedDemos: 4 },
        { method: 's3', filters: { metaTalk: true } },
      ],
    });
    assert.equal(armConfig(withDemoArm, withDemoArm.arms[0], 2).synthesis.seedDemos, 4);
    assert.equal(armConfig(withDemoArm, withDemoArm.arms[1], 2).synthesis.filters?.metaTalk, true);
    assert.throws(
      () => parseExperiment({ ...exp, arms: [{ method: 'gold-validation', filters: { selfCheck: true } }] }),
      /arm "gold-validation": filters and seedDemos act on the teacher's prompts and outputs; method "gold-validation" calls no teacher/,
    );
  });

  test('both experiment configs: s3, s3 + each filter, s3-balanced, s3-demos (also with the cap), goldgen, gold-validation on 3 seeds', () => {
    for (const file of ['quality-spamassassin', 'quality-sst2']) {
      const exp = parseExperiment(JSON.parse(readFileSync(`configs/experiments/${file}.json`, 'utf8')));
      assert.deepEqual(exp.seeds, [1, 2, 3]);
      assert.deepEqual(exp.budget, { examples: 100 });
      assert.deepEqual(exp.arms.map((a) => a.name ?? a.method).sort(), [
        'gold-validation',
        'goldgen',
        's3',
        's3-balanced',
        's3-demos',
        's3-demos-balanced',
        's3-meta-talk',
        's3-near-duplicates',
        's3-reference',
        's3-self-check',
      ]);
      const combined = exp.arms.find((a) => a.name === 's3-demos-balanced');
      assert.equal(combined?.method, 's3-demos');
      assert.equal(armConfig(exp, combined!, 1).synthesis.classCap, 'balanced');
    }
  });
});
