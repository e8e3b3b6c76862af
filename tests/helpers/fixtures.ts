/** Test fixtures: a small synthetic gold task written to a temp dir, and run configs around it. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3ConfigInput } from '../../config/schema.js';
import { Rng } from '../../domain/rng.js';

const FILLER = ['the', 'a', 'service', 'item', 'story', 'day', 'thing', 'place', 'was', 'felt', 'really', 'quite'];

/**
 * Writes gold validation/test JSONL for a two-label task ("positive"/"negative"). Most texts
 * carry their label word (what the fake teacher writes too), some carry none, so a student
 * trained on fake-teacher data makes some errors and EES has work to do.
 */
export function writeGoldTask(opts: { validation?: number; test?: number; seed?: number } = {}): {
  dir: string;
  validation: string;
  test: string;
} {
  const dir = mkdtempSync(path.join(tmpdir(), 's3-gold-'));
  const rng = new Rng(opts.seed ?? 7, 'fixture');
  const make = (n: number, prefix: string) =>
    Array.from({ length: n }, (_, i) => {
      const label = i % 2 === 0 ? 'positive' : 'negative';
      const words = rng.sample(FILLER, 5);
      if (rng.next() < 0.7) words.splice(rng.int(5), 0, label);
      return JSON.stringify({ id: `${prefix}-${i}`, text: words.join(' '), label });
    }).join('\n') + '\n';
  const validation = path.join(dir, 'validation.jsonl');
  const test = path.join(dir, 'test.jsonl');
  writeFileSync(validation, make(opts.validation ?? 40, 'val'));
  writeFileSync(test, make(opts.test ?? 60, 'test'));
  return { dir, validation, test };
}

/** A run configuration on the fixture task with the fake (loopback) teacher. */
export function fakeRunConfig(
  gold: { dir: string; validation: string; test: string },
  baseURL: string,
  over: {
    runId: string;
    seedSize?: number;
    rounds?: number;
    concurrency?: number;
    heartbeatSec?: number;
    cacheDir?: string;
  },
): S3ConfigInput {
  return {
    runId: over.runId,
    runRoot: path.join(gold.dir, 'runs'),
    cacheDir: over.cacheDir ?? path.join(gold.dir, 'cache'),
    seed: 42,
    task: {
      kind: 'single',
      item: 'review',
      labels: ['positive', 'negative'],
      source: { type: 'files', validation: gold.validation, test: gold.test },
    },
    teacher: { provider: 'openai', baseURL, model: 'fake-teacher', concurrency: over.concurrency ?? 4 },
    synthesis: { seedSize: over.seedSize ?? 30, rounds: over.rounds ?? 2, numRationales: 4 },
    timeouts: { heartbeatSec: over.heartbeatSec ?? 30, activityMin: 10 },
  };
}
