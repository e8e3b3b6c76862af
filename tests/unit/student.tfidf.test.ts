/** TF-IDF vectorizer (hand-computed values) and the end-to-end tfidf-logreg student. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StudentSchema } from '../../config/schema.js';
import type { Example } from '../../domain/types.js';
import { createStudent } from '../../student/index.js';
import { TfidfVectorizer, terms } from '../../student/tfidf.js';

const close = (a: number, b: number, what: string, tol = 1e-6) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('terms: word uni/bigrams and char_wb 3-5-grams, lowercased; pairs get a:/b: prefixes and x: overlap', () => {
  assert.deepEqual(terms({ text: 'Ab, cd' }), [
    'w:ab',
    'w:cd',
    'w:ab cd',
    'c: ab',
    'c:ab,',
    'c:b, ',
    'c: ab,',
    'c:ab, ',
    'c: ab, ',
    'c: cd',
    'c:cd ',
    'c: cd ',
  ]);
  const p = terms({ text: 'a b', text_pair: 'B c' });
  for (const t of ['a:w:a', 'a:w:a b', 'b:w:b', 'b:w:c', 'b:c: c ', 'x:w:b']) assert.ok(p.includes(t), t);
  assert.ok(!p.includes('x:w:a') && !p.includes('w:a'));
});

test('tfidf: smooth idf, sublinear tf, unit rows, vocabulary from the training texts only', () => {
  const v = new TfidfVectorizer();
  const rows = v.fitTransform([{ text: 'ab cd' }, { text: 'ab' }, { text: 'ef ef' }]);
  // n = 3: idf(df=2) = ln(4/3) + 1, idf(df=1) = ln(4/2) + 1
  const idf2 = Math.log(4 / 3) + 1;
  const idf1 = Math.log(2) + 1;
  close(v.idf('w:ab')!, idf2, 'idf w:ab');
  close(v.idf('c: cd ')!, idf1, 'idf c: cd ');
  for (const r of rows) close(Math.hypot(...r.values), 1, 'row norm');
  // row 0: 4 terms of "ab" (df 2) and 5 terms of "cd" / "ab cd" (df 1), all tf 1
  const norm0 = Math.sqrt(4 * idf2 ** 2 + 5 * idf1 ** 2);
  const val = (row: number, term: string) => {
    const r = rows[row];
    const k = Array.from(r.indices).indexOf(v.column(term)!);
    return k < 0 ? 0 : r.values[k];
  };
  close(val(0, 'w:cd'), idf1 / norm0, 'w:cd');
  close(val(0, 'w:ab'), idf2 / norm0, 'w:ab');
  // row 2: "ef" twice -> tf 1 + ln 2, bigram "ef ef" once
  close(val(2, 'w:ef') / val(2, 'w:ef ef'), 1 + Math.log(2), 'sublinear tf');
  assert.equal(v.numFeatures, 14); // 4 ab terms, 5 cd terms, w:ef, w:ef ef and 3 ef char-grams
  // unseen terms are ignored at transform time; a text of unseen terms is an empty row
  assert.equal(v.column('w:zz'), undefined);
  const [t] = v.transform([{ text: 'zz cd' }]);
  const num = (a: number, b: number) => a - b;
  assert.deepEqual(
    Array.from(t.indices).sort(num),
    ['w:cd', 'c: cd', 'c:cd ', 'c: cd '].map((x) => v.column(x)!).sort(num),
  );
  close(Math.hypot(...t.values), 1, 'transform norm');
  assert.equal(v.transform([{ text: 'zz' }])[0].indices.length, 0);
});

test('tfidf: maxFeatures keeps the most frequent terms (ties: first seen)', () => {
  const v = new TfidfVectorizer({ maxFeatures: 3 });
  v.fitTransform([{ text: 'ab cd' }, { text: 'ab' }, { text: 'ef ef' }]);
  assert.equal(v.numFeatures, 3);
  // total counts 2: w:ab, the three ab char-grams, w:ef and the ef char-grams; first seen: w:ab, c: ab, c:ab
  assert.deepEqual(
    ['w:ab', 'c: ab', 'c:ab '].map((t) => v.column(t) !== undefined),
    [true, true, true],
  );
  assert.equal(v.column('w:ef'), undefined);
  assert.throws(() => new TfidfVectorizer().fitTransform([]), /zero texts/);
  assert.throws(() => new TfidfVectorizer().transform([{ text: 'a' }]), /before fitTransform/);
});

const toy = (labels: string[], words: string[][], per = 6): Example[] =>
  labels.flatMap((label, c) =>
    Array.from({ length: per }, (_, i) => ({
      id: `${label}-${i}`,
      text: `item ${i} is ${words[c][i % words[c].length]} and ${words[c][(i + 1) % words[c].length]} overall`,
      label,
    })),
  );

test('tfidf student: learns a separable 3-class task, probabilities sum to 1, columns follow labels', async () => {
  const labels = ['pos', 'neg', 'neu'];
  const train = toy(labels, [
    ['great', 'lovely', 'superb'],
    ['awful', 'horrid', 'dreadful'],
    ['okay', 'average', 'fine'],
  ]);
  const s = createStudent(StudentSchema.parse({ kind: 'tfidf-logreg' }), { cacheDir: '/nonexistent' });
  const st = await s.fit(train, labels);
  assert.equal(st.trainSize, 18);
  assert.ok(st.features > 100 && st.iterations > 0 && st.loss > 0 && st.ms >= 0);
  const p = await s.predictProba(train);
  p.forEach((row, i) => {
    close(
      row.reduce((a, b) => a + b, 0),
      1,
      'sum',
      1e-9,
    );
    assert.equal(labels[row.indexOf(Math.max(...row))], train[i].label, `train example ${i}`);
  });
  const [q] = await s.predictProba([{ id: 'q', text: 'this one is superb', label: 'pos' }]);
  assert.equal(q.indexOf(Math.max(...q)), 0);
  // re-fit from scratch with another class order: columns permute accordingly
  const st2 = await s.fit(train, ['neu', 'pos', 'neg']);
  assert.equal(st2.features, st.features);
  const [q2] = await s.predictProba([{ id: 'q', text: 'this one is superb', label: 'pos' }]);
  close(q2[1], q[0], 'permuted column', 1e-6);
});

test('tfidf student: pairs, maxChars truncation and input errors', async () => {
  const cfg = StudentSchema.parse({ maxChars: 12 });
  const s = createStudent(cfg, { cacheDir: '/nonexistent' });
  await assert.rejects(s.predictProba([{ id: 'a', text: 'x', label: 'y' }]), /call fit first/);
  await assert.rejects(s.fit([], ['a', 'b']), /no training examples/);
  await assert.rejects(s.fit([{ id: 'e1', text: 'x', label: 'spam' }], ['ham', 'eggs']), /"e1" has label "spam"/);
  await assert.rejects(s.fit([{ id: 'e1', text: 'x', label: 'a' }], ['a']), /at least 2 distinct/);
  const train = toy(['yes', 'no'], [['great'], ['awful']]);
  await s.fit(train, ['yes', 'no']);
  // only the first 12 characters ("item 0 is gr") are seen: the tail cannot change the prediction
  const [a, b] = await s.predictProba([
    { id: 'a', text: 'item 0 is great', label: 'yes' },
    { id: 'b', text: 'item 0 is great and more words here', label: 'yes' },
  ]);
  assert.deepEqual(a, b);
  const pairs: Example[] = [
    { id: 'p1', text: 'a man plays a guitar', text_pair: 'a man plays music', label: 'entailment' },
    { id: 'p2', text: 'a man plays a guitar', text_pair: 'nobody plays music', label: 'contradiction' },
    { id: 'p3', text: 'two kids run in a park', text_pair: 'kids run outside', label: 'entailment' },
    { id: 'p4', text: 'two kids run in a park', text_pair: 'nobody runs outside', label: 'contradiction' },
  ];
  const ps = createStudent(StudentSchema.parse({}), { cacheDir: '/nonexistent' });
  await ps.fit(pairs, ['entailment', 'contradiction']);
  const pp = await ps.predictProba(pairs);
  pp.forEach((row, i) => assert.equal(row[0] > 0.5, i % 2 === 0));
  await assert.rejects(ps.predictProba([{ id: 's', text: 'single', label: 'entailment' }]), /not a pair/);
});
