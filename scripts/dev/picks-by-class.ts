/**
 * Per-class counts of a round's picks under S3's old rule and the new ones (issue 18: "the
 * balanced-picks option removes the one-class collapse"), without calling the teacher: fits
 * the run's student on its seed data exactly as trainAndEvaluate does in round 0, predicts the
 * gold validation set, and picks B examples with
 *   - loss-first (S3's rule before the fix: the B highest-loss misclassified examples),
 *   - misclassified (the fix: a seeded uniform sample of the misclassified examples),
 *   - misclassified + classCap balanced / prior.
 * Usage: node --import tsx scripts/dev/picks-by-class.ts <runDir> [B=50]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { classQuotas, countByClass, takeWithinQuotas } from '../../acquisition/classCap.js';
import { pickBatch } from '../../acquisition/index.js';
import { argmax } from '../../domain/metrics.js';
import { parseConfig } from '../../config/schema.js';
import { createStudent } from '../../student/index.js';
import type { Example } from '../../domain/types.js';

const [runDir, b] = process.argv.slice(2);
const B = Number(b ?? 50);
const jsonl = (f: string) =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Example);
const config = parseConfig(JSON.parse(readFileSync(path.join(runDir, 'config.json'), 'utf8')));
const labels = config.task.labels;
const seedData = jsonl(path.join(runDir, 'synthetic', 'seed.jsonl'));
const validation = jsonl(path.join(runDir, 'gold', 'validation.jsonl'));
const student = createStudent(config.student, { cacheDir: path.join(config.cacheDir, 'embeddings') });
await student.fit(seedData, labels);
const probs = await student.predictProba(validation);
const gold = validation.map((x) => labels.indexOf(x.label));
const ids = validation.map((x) => x.id);
const wrong = gold.filter((y, i) => argmax(probs[i]) !== y);
const seed = config.seed * 1000 + 0;
const input = { ids, probs, labels: gold, seed };
const count = (picks: { index: number }[]) =>
  countByClass(
    picks.map((p) => gold[p.index]),
    labels,
  );
const lossFirst = pickBatch('loss', { ...input, batch: validation.length }).filter(
  (p) => argmax(probs[p.index]) !== gold[p.index],
);
const uniform = pickBatch('misclassified', { ...input, batch: validation.length });
const prior = labels.map((_, k) => gold.filter((y) => y === k).length);
const out = {
  runDir,
  B,
  seedData: countByClass(
    seedData.map((x) => labels.indexOf(x.label)),
    labels,
  ),
  validation: countByClass(gold, labels),
  studentPredicts: countByClass(
    probs.map((p) => argmax(p)),
    labels,
  ),
  misclassified: countByClass(wrong, labels),
  picks: {
    'loss-first (S3 before the fix)': count(lossFirst.slice(0, B)),
    'misclassified (uniform sample)': count(uniform.slice(0, B)),
    'misclassified + classCap balanced': count(
      takeWithinQuotas(uniform, (p) => gold[p.index], B, classQuotas('balanced', B, prior)),
    ),
    'misclassified + classCap prior': count(
      takeWithinQuotas(uniform, (p) => gold[p.index], B, classQuotas('prior', B, prior)),
    ),
  },
};
console.log(JSON.stringify(out, null, 1));
