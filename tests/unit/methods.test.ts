/**
 * Each synthesis method (methods/*.ts) against fake arm steps: a fake `ArmSteps` that records
 * every call and returns scripted `TrainedRound`s, with a simple budget model (seed spends up to
 * its limit, extrapolation spends one unit per row, capped by the budget left and by a round's
 * token share). The assertions pin each method's sequence of steps and where it stops.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ArmSchema, type ArmConfig } from '../../config/experiment.js';
import { MethodNameSchema, type Budget } from '../../domain/experiment.js';
import type { DatasetRef } from '../../domain/types.js';
import { METHOD_NAMES, METHODS, seedDemosOf, type Method, type MethodName } from '../../methods/index.js';
import type { ArmSteps, TrainedRound } from '../../methods/types.js';

const ref = (name: string, count: number): DatasetRef => ({ path: name, sha256: name, count, labelCounts: {} });

interface Script {
  budget?: Budget;
  rounds?: number;
  arm?: Partial<Omit<ArmConfig, 'method'>>;
  /** per train round: what the student reports (default: 10 rows to extrapolate, not converged) */
  train?: Record<number, { rows?: number; converged?: string | null }>;
  /** seed overspends its limit by this much (a last batch costs more than the limit left) */
  seedOvershoot?: number;
}

/** A fake ArmSteps: `calls` lists every step as a string, in order; `spent` is the budget used. */
function fakeArm(method: MethodName, s: Script = {}) {
  const budget = s.budget ?? { kind: 'examples', limit: 100 };
  const calls: string[] = [];
  /** reasons given to arm.stop(), in order */
  const stops: string[] = [];
  const refs = { extrapolated: [] as DatasetRef[], icl: [] as DatasetRef[] };
  let spent = 0;
  const steps: ArmSteps = {
    options: ArmSchema.parse({ method, ...s.arm }),
    budget,
    rounds: s.rounds ?? 2,
    left: () => budget.limit - spent,
    portion: (share) => budget.limit * share,
    budgetStop: () => (budget.limit - spent <= 0 ? 'budget spent' : null),
    stop(reason) {
      stops.push(reason);
    },
    async rationales() {
      calls.push('rationales');
    },
    async seed(limit, icl) {
      calls.push(icl ? `seed(${limit}, icl ${icl.ref.path} round ${icl.round})` : `seed(${limit})`);
      if (icl) refs.icl.push(icl.ref);
      spent = Math.max(spent, Math.min(budget.limit, limit) + (s.seedOvershoot ?? 0));
    },
    async train(round, opts = {}): Promise<TrainedRound> {
      const o = Object.entries(opts)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${v}`);
      calls.push(`train(${[round, ...o].join(', ')})`);
      const t = s.train?.[round] ?? {};
      return {
        round,
        validationAccuracy: 0.5 + round / 100,
        toExtrapolate: ref(`rows-${round}`, opts.batch ?? t.rows ?? 10),
        converged: t.converged ?? null,
      };
    },
    async extrapolate(round, rows, opts = {}) {
      calls.push(
        opts.tokens === undefined
          ? `extrapolate(${round}, ${rows.path})`
          : `extrapolate(${round}, ${rows.path}, tokens=${opts.tokens})`,
      );
      refs.extrapolated.push(rows);
      spent += Math.min(rows.count, budget.limit - spent, opts.tokens ?? Infinity);
    },
    async influence(round, topK) {
      calls.push(`influence(${round}, ${topK})`);
      return ref(`top-${round}`, topK);
    },
    async useGold(which) {
      calls.push(`useGold(${which === 'validation' ? 'validation' : `train ${which.train}`})`);
    },
    async finish() {
      calls.push('finish');
    },
  };
  return {
    steps,
    calls,
    stops,
    refs,
    spent: () => spent,
    run: async () => {
      await METHODS[method].run(steps);
      return calls;
    },
  };
}

const run = (method: MethodName, s?: Script) => fakeArm(method, s).run();
const TEACHER_STEPS = /^(rationales|seed|extrapolate|influence)/;

describe('s3', () => {
  test('rationales → seed(limit·seedShare) → train/extrapolate R rounds → train → finish', async () => {
    assert.deepEqual(await run('s3'), [
      'rationales',
      'seed(50)',
      'train(0)',
      'extrapolate(1, rows-0)',
      'train(1)',
      'extrapolate(2, rows-1)',
      'train(2)',
      'finish',
    ]);
  });

  test('the seed share and R come from the arm and the config', async () => {
    assert.deepEqual(await run('s3', { arm: { seedShare: 0.25 }, rounds: 1 }), [
      'rationales',
      'seed(25)',
      'train(0)',
      'extrapolate(1, rows-0)',
      'train(1)',
      'finish',
    ]);
    assert.deepEqual(await run('s3', { rounds: 0 }), ['rationales', 'seed(50)', 'train(0)', 'finish']);
  });

  test('each round extrapolates the rows its own training round picked', async () => {
    const arm = fakeArm('s3', { rounds: 3, train: { 0: { rows: 7 }, 1: { rows: 3 }, 2: { rows: 5 } } });
    await arm.run();
    assert.deepEqual(
      arm.refs.extrapolated.map((r) => [r.path, r.count]),
      [
        ['rows-0', 7],
        ['rows-1', 3],
        ['rows-2', 5],
      ],
    );
    assert.equal(arm.spent(), 50 + 7 + 3 + 5);
  });

  test('stops when the budget is spent: the student is trained on the last additions, no further round', async () => {
    const arm = fakeArm('s3', { rounds: 5, train: { 0: { rows: 40 }, 1: { rows: 40 } } });
    assert.deepEqual(await arm.run(), [
      'rationales',
      'seed(50)',
      'train(0)',
      'extrapolate(1, rows-0)',
      'train(1)',
      'extrapolate(2, rows-1)',
      'train(2)',
      'finish',
    ]);
    assert.equal(arm.spent(), 100, 'the second round is capped at the 10 examples left');
  });

  test('a budget spent by the seed data alone: one student, no extrapolation', async () => {
    assert.deepEqual(await run('s3', { arm: { seedShare: 1 } }), ['rationales', 'seed(100)', 'train(0)', 'finish']);
  });

  test('stops on convergence (no misclassified example, or a plateau under epsilon)', async () => {
    assert.deepEqual(await run('s3', { rounds: 4, train: { 1: { converged: 'no misclassified example' } } }), [
      'rationales',
      'seed(50)',
      'train(0)',
      'extrapolate(1, rows-0)',
      'train(1)',
      'finish',
    ]);
    assert.deepEqual(await run('s3', { train: { 0: { converged: 'plateau' } } }), [
      'rationales',
      'seed(50)',
      'train(0)',
      'finish',
    ]);
  });

  test('under a token budget the same steps run, in tokens', async () => {
    const arm = fakeArm('s3', { budget: { kind: 'tokens', limit: 3000 }, rounds: 1, train: { 0: { rows: 5 } } });
    assert.deepEqual(await arm.run(), [
      'rationales',
      'seed(1500)',
      'train(0)',
      'extrapolate(1, rows-0)',
      'train(1)',
      'finish',
    ]);
  });
});

test('zerogen: the whole budget as plain seed data, no rationales, no student feedback', async () => {
  assert.deepEqual(await run('zerogen'), ['seed(100)', 'finish']);
  assert.deepEqual(await run('zerogen', { budget: { kind: 'tokens', limit: 800 } }), ['seed(800)', 'finish']);
});

test('seed-only: rationales, then seed data for the whole budget; no EES', async () => {
  assert.deepEqual(await run('seed-only', { arm: { seedShare: 0.3 } }), ['rationales', 'seed(100)', 'finish']);
});

test('no-rationales: plain seed data for the seed share, then EES exactly as s3, never rationales', async () => {
  assert.deepEqual(await run('no-rationales', { train: { 1: { converged: 'no misclassified example' } } }), [
    'seed(50)',
    'train(0)',
    'extrapolate(1, rows-0)',
    'train(1)',
    'finish',
  ]);
});

describe('s3-demos', () => {
  test('runs exactly s3’s steps (its demonstrations are in the seed prompts, not in the steps)', async () => {
    for (const script of [{}, { rounds: 3, train: { 1: { rows: 4 } } }, { arm: { seedShare: 1 } }] as Script[])
      assert.deepEqual(await run('s3-demos', script), await run('s3', script));
  });

  test('declares 2 demonstrations per seed prompt and says that it spends gold examples', () => {
    const m = METHODS['s3-demos'];
    assert.equal(m.seedDemos, 2);
    assert.deepEqual([m.rationales, m.usesTeacher, m.ownAcquisition, m.needsBudget], [true, true, false, false]);
    assert.match(m.summary, /gold validation examples.*spends gold examples as GoldGen does/);
    assert.equal(METHODS.s3.seedDemos, undefined);
  });

  test('seedDemosOf: synthesis.seedDemos wins, else the method’s default (2 for s3-demos, 0 for the others)', () => {
    const of = (method: MethodName, seedDemos?: number) => seedDemosOf({ method, synthesis: { seedDemos } });
    assert.deepEqual([of('s3-demos'), of('s3-demos', 0), of('s3-demos', 5)], [2, 0, 5]);
    assert.deepEqual([of('s3'), of('s3', 3), of('goldgen'), of('zerogen')], [0, 3, 0, 0]);
  });
});

describe('goldgen', () => {
  test('one pass over every validation example (all), whatever R is', async () => {
    assert.deepEqual(await run('goldgen', { rounds: 3 }), [
      'rationales',
      'seed(50)',
      'train(0, all=true)',
      'extrapolate(1, rows-0)',
      'train(1, all=true)',
      'finish',
    ]);
  });

  test('no pass when the seed data spent the budget', async () => {
    assert.deepEqual(await run('goldgen', { arm: { seedShare: 1 } }), [
      'rationales',
      'seed(100)',
      'train(0, all=true)',
      'finish',
    ]);
  });
});

describe('progen', () => {
  test('plain seed data, then R rounds: train, influence(topK), in-context seed up to the round’s share', async () => {
    const arm = fakeArm('progen', { arm: { topK: 6 } });
    assert.deepEqual(await arm.run(), [
      'seed(50)',
      'train(0)',
      'influence(0, 6)',
      'seed(75, icl top-0 round 1)',
      'train(1)',
      'influence(1, 6)',
      'seed(100, icl top-1 round 2)',
      'finish',
    ]);
    assert.deepEqual(
      arm.refs.icl.map((r) => r.count),
      [6, 6],
      'the influence step’s picks are the in-context examples',
    );
  });

  test('stops its rounds once the budget is spent', async () => {
    assert.deepEqual(await run('progen', { rounds: 4, seedOvershoot: 40 }), [
      'seed(50)',
      'train(0)',
      'influence(0, 4)',
      'seed(62.5, icl top-0 round 1)',
      'finish',
    ]);
    assert.deepEqual(await run('progen', { arm: { seedShare: 1 } }), ['seed(100)', 'finish']);
  });
});

describe('active', () => {
  test('examples budget: the budget left is shared by the rounds left (batch), all R rounds run', async () => {
    const arm = fakeArm('active', { rounds: 2, train: { 0: { converged: 'no misclassified example' } } });
    assert.deepEqual(await arm.run(), [
      'rationales',
      'seed(50)',
      'train(0, batch=25)',
      'extrapolate(1, rows-0)',
      'train(1, batch=25)',
      'extrapolate(2, rows-1)',
      'train(2)',
      'finish',
    ]);
    assert.equal(arm.spent(), 100);
  });

  test('batches follow what is left: ⌈left / rounds left⌉', async () => {
    assert.deepEqual(await run('active', { rounds: 3, arm: { seedShare: 0.5 } }), [
      'rationales',
      'seed(50)',
      'train(0, batch=17)',
      'extrapolate(1, rows-0)',
      'train(1, batch=17)',
      'extrapolate(2, rows-1)',
      'train(2, batch=16)',
      'extrapolate(3, rows-2)',
      'train(3)',
      'finish',
    ]);
  });

  test('token budget: the pool is ranked and each round gets its share of the tokens left', async () => {
    const arm = fakeArm('active', {
      budget: { kind: 'tokens', limit: 1000 },
      rounds: 2,
      train: { 0: { rows: 1000 }, 1: { rows: 1000 } },
    });
    assert.deepEqual(await arm.run(), [
      'rationales',
      'seed(500)',
      'train(0, ranked=true)',
      'extrapolate(1, rows-0, tokens=250)',
      'train(1, ranked=true)',
      'extrapolate(2, rows-1, tokens=250)',
      'train(2)',
      'finish',
    ]);
  });
});

describe('the gold references never call the teacher', () => {
  test('gold: N = the budget in examples, or goldExamples', async () => {
    assert.deepEqual(await run('gold', { budget: { kind: 'examples', limit: 24 } }), ['useGold(train 24)', 'train(0)']);
    assert.deepEqual(await run('gold', { budget: { kind: 'tokens', limit: 5000 }, arm: { goldExamples: 20 } }), [
      'useGold(train 20)',
      'train(0)',
    ]);
  });

  test('gold-all and gold-validation', async () => {
    assert.deepEqual(await run('gold-all'), ['useGold(train all)', 'train(0)']);
    assert.deepEqual(await run('gold-validation'), ['useGold(validation)', 'train(0)']);
  });

  for (const m of ['gold', 'gold-all', 'gold-validation'] as const)
    test(`${m}: no seed, rationales, extrapolation or influence; usesTeacher is false`, async () => {
      const calls = await run(m, { rounds: 3 });
      assert.deepEqual(
        calls.filter((c) => TEACHER_STEPS.test(c)),
        [],
      );
      assert.equal(METHODS[m].usesTeacher, false);
    });
});

test('s3+gold-validation: s3’s steps, then the gold validation examples and a final student', async () => {
  const s3 = await run('s3', { train: { 1: { rows: 4 } } });
  const both = await run('s3+gold-validation', { train: { 1: { rows: 4 } } });
  assert.deepEqual(both, [...s3, 'useGold(validation)', 'finish']);
  assert.equal(METHODS['s3+gold-validation'].usesTeacher, true);
});

test('every registered method is here, under its own name, and the teacher methods call the teacher', async () => {
  const tested = new Set<string>([
    's3',
    's3-demos',
    'zerogen',
    'seed-only',
    'no-rationales',
    'goldgen',
    'progen',
    'active',
    'gold',
    'gold-all',
    'gold-validation',
    's3+gold-validation',
  ]);
  assert.deepEqual([...METHOD_NAMES].sort(), [...tested].sort(), 'a new method needs its own test above');
  assert.deepEqual(
    Object.keys(METHODS),
    [...METHOD_NAMES],
    'the registry holds one method per name, in names.ts order',
  );
  for (const name of METHOD_NAMES) {
    const m = METHODS[name] as Method | undefined;
    assert.ok(m, `${name}: listed in methods/names.ts but not registered in methods/index.ts`);
    assert.equal(m.name, name);
    // every declaration the loop, the report and the experiment read, present and of its type
    assert.ok(m.source.trim().length > 0 && m.summary.trim().length > 0, `${name}: source and summary`);
    for (const flag of ['usesTeacher', 'rationales', 'ownAcquisition', 'qualityStudy', 'needsBudget'] as const)
      assert.equal(typeof m[flag], 'boolean', `${name}: declares ${flag}`);
    assert.equal(typeof m.run, 'function', `${name}: has a script`);
    const calls = await run(name);
    assert.equal(
      calls.some((c) => TEACHER_STEPS.test(c)),
      METHODS[name].usesTeacher,
      `${name}: usesTeacher says ${METHODS[name].usesTeacher}, steps ${calls.join(' ')}`,
    );
  }
});

test('the config schema accepts exactly the registered method names (derived from methods/names.ts)', () => {
  assert.deepEqual(MethodNameSchema.options, [...METHOD_NAMES]);
  assert.equal(MethodNameSchema.safeParse('s4').success, false);
});

describe('stop reasons (recorded by eesRounds through arm.stop)', () => {
  test('budget and convergence stops are recorded; R rounds done is not a stop', async () => {
    const spentArm = fakeArm('s3', { budget: { kind: 'examples', limit: 20 } });
    await spentArm.run();
    assert.deepEqual(spentArm.stops, ['budget spent']);
    const converged = fakeArm('s3', { train: { 1: { converged: 'no misclassified example' } } });
    await converged.run();
    assert.deepEqual(converged.stops, ['no misclassified example']);
    const full = fakeArm('s3', { budget: { kind: 'examples', limit: 1000 } });
    await full.run();
    assert.deepEqual(full.stops, []);
  });
});
