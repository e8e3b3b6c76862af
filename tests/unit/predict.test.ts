/** scripts/predict.ts: the longest_first split of a pair's token budget (known answers). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { longestFirst } from '../../scripts/predict.js';

test('longestFirst: nothing cut when both fit; the shorter kept whole when it fits in half; else halves', () => {
  assert.deepEqual(longestFirst(3, 4, 10), [3, 4]); // both fit
  assert.deepEqual(longestFirst(2, 14, 7), [2, 5]); // shorter (2) ≤ 7/2: longer gets 7 − 2
  assert.deepEqual(longestFirst(14, 2, 7), [5, 2]); // the same with the longer first
  assert.deepEqual(longestFirst(14, 14, 7), [3, 4]); // both cut: ⌊7/2⌋ to the first, the rest to the second
  assert.deepEqual(longestFirst(14, 18, 8), [4, 4]);
  assert.deepEqual(longestFirst(18, 14, 9), [5, 4]); // the shorter (second) gets ⌊9/2⌋, the longer the rest
  assert.deepEqual(longestFirst(5, 9, 9), [4, 5]); // the shorter (5) is over half of 9: halves, 4 and 5
  assert.deepEqual(longestFirst(0, 20, 6), [0, 6]);
  assert.deepEqual(longestFirst(4, 4, 0), [0, 0]);
});
