/**
 * student/cooperative.ts and its users: the sync and cooperative drivers give the same result,
 * and a cooperative fit lets timers run (an activity's heartbeat) while it computes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCooperative, runSync, type Steps } from '../../student/cooperative.js';
import { trainLogReg, trainLogRegAsync } from '../../student/logreg.js';
import { TfidfVectorizer } from '../../student/tfidf.js';

function* countTo(n: number): Steps<number> {
  let s = 0;
  for (let i = 1; i <= n; i++) {
    s += i;
    yield;
  }
  if (n < 0) throw new Error('negative');
  return s;
}

test('runSync and runCooperative return the same value and throw the same error', async () => {
  assert.equal(runSync(countTo(100)), 5050);
  assert.equal(await runCooperative(countTo(100)), 5050);
  assert.throws(() => runSync(countTo(-1)), /negative/);
  await assert.rejects(runCooperative(countTo(-1)), /negative/);
});

test('runCooperative gives timers a turn during a long computation; runSync does not', async () => {
  function* busy(ms: number): Steps<void> {
    const end = performance.now() + ms;
    while (performance.now() < end) yield;
  }
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    runSync(busy(150));
    assert.equal(ticks, 0, 'a sync run holds the event loop');
    await runCooperative(busy(150), 10);
    assert.ok(ticks >= 3, `timers ran ${ticks} times during a 150 ms cooperative run`);
  } finally {
    clearInterval(timer);
  }
});

test('TF-IDF and logistic regression fitted cooperatively equal the sync fit', async () => {
  const docs = Array.from({ length: 300 }, (_, i) => ({
    text: `${i % 2 ? 'free money offer click' : 'meeting notes agenda'} word${i % 17} other${i % 5}`,
  }));
  const a = new TfidfVectorizer();
  const b = new TfidfVectorizer();
  const rowsA = a.fitTransform(docs);
  const rowsB = await b.fitTransformAsync(docs);
  assert.deepEqual(rowsB, rowsA);
  assert.equal(b.numFeatures, a.numFeatures);
  const y = docs.map((_, i) => i % 2);
  const sync = trainLogReg(rowsA, y, 2, a.numFeatures, { l2: 1e-3, maxIter: 100 });
  const coop = await trainLogRegAsync(rowsA, y, 2, a.numFeatures, { l2: 1e-3, maxIter: 100 });
  assert.deepEqual(coop.model.weights, sync.model.weights);
  assert.equal(coop.iterations, sync.iterations);
  await assert.rejects(trainLogRegAsync([], [], 2, 4, { l2: 0, maxIter: 5 }), /no training rows/);
  await assert.rejects(new TfidfVectorizer().fitTransformAsync([]), /zero texts/);
});
