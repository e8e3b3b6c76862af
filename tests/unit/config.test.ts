/** Strict configuration (issue 8): unknown keys anywhere, runId confinement, new input limits. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, setPath } from '../../config/load.js';
import { parseExperiment } from '../../config/experiment.js';
import { closestKey, parseConfig } from '../../config/schema.js';

const TASK = { labels: ['ham', 'spam'], source: { type: 'spamassassin' } };
const FILES = { type: 'files', validation: 'v.jsonl', test: 't.jsonl' };

/** The error lines of parseConfig (without the "invalid …:" header). */
function errorLines(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (err) {
    return (err as Error).message
      .split('\n')
      .slice(1)
      .map((l) => l.trim());
  }
  assert.fail(`expected ${JSON.stringify(raw)} to be rejected`);
}

describe('strict configuration: unknown keys', () => {
  it('names every misspelled synthesis key with the closest known key', () => {
    assert.deepEqual(errorLines({ task: TASK, synthesis: { seedsize: 5, round: 1 } }), [
      'synthesis.seedsize: unknown key (did you mean "seedSize"?)',
      'synthesis.round: unknown key (did you mean "rounds"?)',
    ]);
  });

  it('names teacher.temprature with "temperature"', () => {
    assert.deepEqual(errorLines({ task: TASK, teacher: { temprature: 0.5 } }), [
      'teacher.temprature: unknown key (did you mean "temperature"?)',
    ]);
  });

  it('rejects unknown keys at the root and in task, prompts, student, timeouts', () => {
    assert.deepEqual(
      errorLines({
        runid: 'x',
        task: { ...TASK, label: 'x', maxchars: 10, prompts: { mis: 'x', querry: 'y' } },
        student: { kind: 'tfidf-logreg', l3: 1 },
        timeouts: { heartbeatsec: 3 },
      }).sort((a, b) => a.localeCompare(b)),
      [
        'runid: unknown key (did you mean "runId"?)',
        'task.label: unknown key (did you mean "labels"?)',
        'task.maxchars: unknown key (did you mean "maxChars"?)',
        'task.prompts.querry: unknown key (did you mean "query"?)',
        'student.l3: unknown key (did you mean "l2"?)',
        'timeouts.heartbeatsec: unknown key (did you mean "heartbeatSec"?)',
      ].sort((a, b) => a.localeCompare(b)),
    );
  });

  it('suggests from the variant of task.source the type selects, and in fields', () => {
    assert.deepEqual(
      errorLines({ task: { ...TASK, source: { ...FILES, validationsize: 5, fields: { txt: 'body' } } } }),
      [
        'task.source.fields.txt: unknown key (did you mean "text"?)',
        'task.source.validationsize: unknown key (did you mean "validationSize"?)',
      ],
    );
    assert.deepEqual(errorLines({ task: { ...TASK, source: { type: 'spamassassin', maxchar: 100 } } }), [
      'task.source.maxchar: unknown key (did you mean "maxChars"?)',
    ]);
    // "contexts" belongs to the files variant only
    const [line] = errorLines({ task: { ...TASK, source: { type: 'spamassassin', contexts: 'c.jsonl' } } });
    assert.match(
      line,
      /^task\.source\.contexts: unknown key \(known keys: type, validationSize, testSize, maxChars\)$/,
    );
  });

  it('lists the known keys when nothing is close', () => {
    assert.deepEqual(errorLines({ task: TASK, synthesis: { zzzzzzzz: 1 } }), [
      'synthesis.zzzzzzzz: unknown key (known keys: numRationales, rationalesPerExample, useRationales, seedSize, rounds, epsilon, maxPerRound, classCap, acquisition, qaMisclassifiedBelowF1, pool, validationHoldout, candidatesPerPick, maxAttempts, filters, seedDemos, review, reviewTimeoutMin)',
    ]);
  });

  it('reports unknown keys together with other invalid fields', () => {
    const lines = errorLines({ task: TASK, student: { kind: 'svm' }, synthesis: { seedsize: 5 } });
    assert.ok(lines.some((l) => l.startsWith('student.kind: ')));
    assert.ok(lines.includes('synthesis.seedsize: unknown key (did you mean "seedSize"?)'));
  });

  it('closestKey is case-insensitive and refuses far-off guesses', () => {
    assert.equal(closestKey('SEEDSIZE', ['seedSize', 'rounds']), 'seedSize');
    assert.equal(closestKey('temprature', ['temperature', 'topP']), 'temperature');
    assert.equal(closestKey('banana', ['seedSize', 'rounds']), undefined);
    assert.equal(closestKey('x', []), undefined);
  });
});

describe('teacher: one strict section per provider', () => {
  it('an omitted section or provider is the embedded llama-cpp teacher, with its keys only', () => {
    const d = parseConfig({ task: TASK }).teacher;
    assert.deepEqual(d, parseConfig({ task: TASK, teacher: {} }).teacher);
    assert.equal(d.provider, 'llama-cpp');
    assert.ok(!('apiKeyEnv' in d) && !('baseURL' in d));
    const t = parseConfig({ task: TASK, teacher: { modelPath: '/m.gguf', threads: 2 } }).teacher;
    assert.equal(t.provider, 'llama-cpp');
    assert.equal(t.provider === 'llama-cpp' && t.modelPath, '/m.gguf');
  });

  it('did-you-mean looks at the selected provider (default llama-cpp)', () => {
    assert.deepEqual(errorLines({ task: TASK, teacher: { modelpath: 'x' } }), [
      'teacher.modelpath: unknown key (did you mean "modelPath"?)',
    ]);
    assert.deepEqual(
      errorLines({ task: TASK, teacher: { provider: 'openai', baseURL: 'http://h/v1', model: 'm', apikeyenv: 'K' } }),
      ['teacher.apikeyenv: unknown key (did you mean "apiKeyEnv"?)'],
    );
  });

  it('a key of another provider names the providers that have it', () => {
    assert.deepEqual(errorLines({ task: TASK, teacher: { baseURL: 'http://127.0.0.1:8000/v1' } }), [
      'teacher.baseURL: unknown key for provider "llama-cpp" (a setting of provider "llama-server" or "openai")',
    ]);
    assert.deepEqual(
      errorLines({
        task: TASK,
        teacher: { provider: 'openai', baseURL: 'http://h/v1', model: 'm', threads: 2, modelPath: 'x' },
      }),
      [
        'teacher.threads: unknown key for provider "openai" (a setting of provider "llama-cpp")',
        'teacher.modelPath: unknown key for provider "openai" (a setting of provider "llama-cpp" or "llama-server")',
      ],
    );
    assert.deepEqual(errorLines({ task: TASK, teacher: { provider: 'llama-server', contextsize: 512 } }), [
      'teacher.contextsize: unknown key for provider "llama-server" (did you mean "contextSize", a setting of provider "llama-cpp")',
    ]);
  });

  it('openai needs baseURL and model; an unknown provider lists the known ones', () => {
    assert.deepEqual(errorLines({ task: TASK, teacher: { provider: 'openai' } }), [
      'teacher.baseURL: required when teacher.provider is "openai"',
      'teacher.model: required when teacher.provider is "openai"',
    ]);
    assert.deepEqual(errorLines({ task: TASK, teacher: { provider: 'llamacpp' } }), [
      'teacher.provider: unknown provider "llamacpp" (one of "llama-cpp", "llama-server", "openai"; default "llama-cpp")',
    ]);
  });

  it('llama-server takes modelPath, and baseURL / model optionally', () => {
    const t = parseConfig({ task: TASK, teacher: { provider: 'llama-server', modelPath: '/m.gguf' } }).teacher;
    assert.deepEqual(
      { ...t },
      {
        provider: 'llama-server',
        modelPath: '/m.gguf',
        apiKeyEnv: 'OPENAI_API_KEY',
        temperature: 0.9,
        topP: 0.95,
        maxTokens: 96,
        concurrency: 2,
        maxRetries: 4,
      },
    );
  });
});

describe('loadConfig / --set with strict keys', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3-config-'));
    file = join(dir, 'c.json');
    await writeFile(file, JSON.stringify({ task: TASK }));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a misspelled --set key fails the same way, naming the file', () => {
    assert.equal(loadConfig(file, ['synthesis.seedSize=5']).synthesis.seedSize, 5);
    assert.throws(
      () => loadConfig(file, ['synthesis.seedsize=5']),
      (e: Error) =>
        e.message.startsWith(`invalid ${file}:`) &&
        e.message.includes('synthesis.seedsize: unknown key (did you mean "seedSize"?)'),
    );
    assert.throws(
      () => loadConfig(file, ['teacher.temprature=0.2']),
      /teacher\.temprature: unknown key \(did you mean "temperature"\?\)/,
    );
  });

  it('setPath refuses prototype keys and paths through non-objects', () => {
    const o: Record<string, unknown> = { synthesis: 5 };
    assert.throws(() => setPath(o, '__proto__.polluted=1'), /invalid key "__proto__"/);
    assert.throws(() => setPath(o, 'a.constructor.prototype.x=1'), /invalid key "constructor"/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.throws(() => setPath(o, 'synthesis.seedSize=1'), /synthesis is not an object/);
    assert.throws(() => setPath(o, 'a..b=1'), /invalid key ""/);
  });

  it('a config that is not a JSON object is refused', async () => {
    const arr = join(dir, 'arr.json');
    await writeFile(arr, '[1]');
    assert.throws(() => loadConfig(arr), /expected a JSON object/);
  });
});

describe('runId and the new input-limit fields', () => {
  it('runId may not be "." or ".."; the character pattern is kept', () => {
    assert.deepEqual(errorLines({ task: TASK, runId: '..' }), [
      'runId: runId may not be "." or ".." (the run directory must lie under runRoot)',
    ]);
    assert.match(errorLines({ task: TASK, runId: '.' })[0], /^runId: runId may not be "\." or "\.\."/);
    assert.match(errorLines({ task: TASK, runId: '../x' })[0], /^runId: runId may only contain/);
    assert.equal(parseConfig({ task: TASK, runId: '..a.b-c_1' }).runId, '..a.b-c_1');
  });

  it('task.maxChars defaults to 4000 and must be an integer >= 100', () => {
    assert.equal(parseConfig({ task: TASK }).task.maxChars, 4000);
    assert.equal(parseConfig({ task: { ...TASK, maxChars: 100 } }).task.maxChars, 100);
    assert.match(errorLines({ task: { ...TASK, maxChars: 99 } })[0], /^task\.maxChars: /);
    assert.match(errorLines({ task: { ...TASK, maxChars: 150.5 } })[0], /^task\.maxChars: /);
  });

  it('task.source.invalidUtf8 defaults to "error" and accepts "replace" (files source only)', () => {
    const files = parseConfig({ task: { ...TASK, source: FILES } });
    assert.equal(files.task.source.type === 'files' && files.task.source.invalidUtf8, 'error');
    const rep = parseConfig({ task: { ...TASK, source: { ...FILES, invalidUtf8: 'replace' } } });
    assert.equal(rep.task.source.type === 'files' && rep.task.source.invalidUtf8, 'replace');
    assert.match(
      errorLines({ task: { ...TASK, source: { ...FILES, invalidUtf8: 'drop' } } })[0],
      /^task\.source\.invalidUtf8: /,
    );
    assert.match(
      errorLines({ task: { ...TASK, source: { type: 'spamassassin', invalidUtf8: 'replace' } } })[0],
      /^task\.source\.invalidUtf8: unknown key/,
    );
  });
});

describe('synthesis.candidatesPerPick', () => {
  it('defaults to 1, accepts 1..8, and is refused with teacher-judge', () => {
    assert.equal(parseConfig({ task: TASK }).synthesis.candidatesPerPick, 1);
    assert.equal(
      parseConfig({ task: TASK, synthesis: { acquisition: 'entropy', candidatesPerPick: 3 } }).synthesis
        .candidatesPerPick,
      3,
    );
    assert.ok(
      errorLines({ task: TASK, synthesis: { candidatesPerPick: 9 } })[0].startsWith('synthesis.candidatesPerPick'),
    );
    assert.match(
      errorLines({ task: TASK, synthesis: { acquisition: 'teacher-judge', candidatesPerPick: 2 } })[0],
      /synthesis\.candidatesPerPick: .*teacher-judge would need a teacher rating per candidate/,
    );
  });
});

describe('student.kind finetune refuses selections its Python worker cannot compute', () => {
  const finetune = (synthesis: Record<string, unknown>) => ({ task: TASK, student: { kind: 'finetune' }, synthesis });
  it('accepts misclassified and loss on the gold-validation pool', () => {
    assert.equal(parseConfig(finetune({})).synthesis.acquisition, 'misclassified');
    assert.equal(parseConfig(finetune({ acquisition: 'loss' })).synthesis.acquisition, 'loss');
  });
  it('refuses other acquisition functions, the synthetic pool, validationHoldout and candidatesPerPick > 1', () => {
    for (const [synthesis, what] of [
      [{ acquisition: 'entropy' }, /synthesis\.acquisition "entropy" \(it computes misclassified, loss\)/],
      [{ acquisition: 'loss', pool: 'synthetic' }, /synthesis\.pool "synthetic"/],
      [{ validationHoldout: 0.3 }, /synthesis\.validationHoldout/],
      [{ acquisition: 'loss', candidatesPerPick: 2 }, /synthesis\.candidatesPerPick > 1/],
    ] as const)
      assert.throws(
        () => parseConfig(finetune(synthesis)),
        new RegExp(`invalid config: ${what.source} is not supported by student\\.kind "finetune"`),
      );
    // the same settings are fine for the TypeScript students
    assert.equal(parseConfig({ task: TASK, synthesis: { acquisition: 'entropy' } }).synthesis.acquisition, 'entropy');
  });
  it('an experiment refuses such an arm before any child starts, naming the arm', () => {
    const exp = {
      task: TASK,
      student: { kind: 'finetune' },
      arms: [{ method: 's3' }, { method: 'active', name: 'lc', acquisition: 'least-confidence' }],
    };
    assert.throws(
      () => parseExperiment(exp),
      /invalid experiment config: arm "lc": synthesis\.acquisition "least-confidence"/,
    );
    assert.equal(
      parseExperiment({ ...exp, arms: [{ method: 's3' }, { method: 'active', acquisition: 'loss' }] }).arms.length,
      2,
    );
  });
});
