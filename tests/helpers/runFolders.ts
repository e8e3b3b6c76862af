/**
 * Finished run folders as the activities write them (config.json, synthetic/final.jsonl, gold
 * splits, report.json), for the export tests: a classification run (single texts or pairs) and an
 * extractive QA run built from the QA fixture (tests/fixtures/data/qa-good.jsonl, read by the gold
 * loader) with two synthetic questions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { parseConfig } from '../../config/schema.js';
import { loadQaJsonl, qaRowToExample } from '../../data/qa.js';

const FIXTURE = path.join(PROJECT_ROOT, 'tests', 'fixtures', 'data', 'qa-good.jsonl');
/** The first synthetic question's passage (an emoji: code points differ from UTF-16 units). */
export const QA_CONTEXT = 'Ünïcode 😀 passage: the fair is held on the Town Moor in June.';

/** A finished QA run folder `<root>/runs/adqa` (config.json, final.jsonl, gold splits, report.json). @returns its path */
export async function qaRunDir(root: string): Promise<string> {
  const dir = path.join(root, 'runs', 'adqa');
  for (const sub of ['synthetic', 'gold']) mkdirSync(path.join(dir, sub), { recursive: true });
  const config = parseConfig({
    runId: 'adqa',
    task: { kind: 'qa', labels: ['answer'], source: { type: 'files', validation: 'v', test: 't' } },
    student: { kind: 'finetune' },
  });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const gold = (await loadQaJsonl(FIXTURE)).map(qaRowToExample);
  const provenance = (origin: string, round: number, misclassifiedId: string | null) => ({
    origin,
    round,
    rationales: [],
    misclassifiedId,
    templateId: origin === 'seed' ? 'qa.query.table1' : 'qa.mis.table1',
    prompt: 'p',
    teacherModel: 'llama-cpp:SmolLM2',
    sampling: { temperature: 0.9, topP: 0.95, maxTokens: 96 },
    sampleIndex: 0,
    rawOutput: 'r',
  });
  // "the Town Moor" starts at code point 39 (the emoji is one code point, two UTF-16 units)
  const start = [...QA_CONTEXT.slice(0, QA_CONTEXT.indexOf('the Town Moor'))].length;
  const synthetic = [
    {
      id: 'seed-0',
      text: QA_CONTEXT,
      text_pair: 'Where is the fair held?',
      label: 'the Town Moor',
      answers: { text: ['the Town Moor'], answer_start: [start] },
      provenance: provenance('seed', 0, null),
    },
    {
      id: 'ees-1-0',
      text: gold[0].text,
      text_pair: 'On what ground does the largest travelling funfair in Europe take place?',
      label: 'the Town Moor',
      answers: { text: ['the Town Moor'], answer_start: [86] },
      provenance: provenance('ees', 1, gold[0].id),
    },
  ];
  const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r) + '\n').join('');
  writeFileSync(path.join(dir, 'synthetic', 'final.jsonl'), jsonl(synthetic));
  writeFileSync(path.join(dir, 'gold', 'validation.jsonl'), jsonl(gold.slice(0, 2)));
  writeFileSync(path.join(dir, 'gold', 'test.jsonl'), jsonl(gold.slice(2)));
  const scores = (em: number, f1: number) => ({ accuracy: em, macroF1: f1, exactMatch: em, f1, count: 1 });
  writeFileSync(
    path.join(dir, 'report.json'),
    JSON.stringify({
      teacher: { provider: 'llama-cpp', model: 'SmolLM2-135M-Instruct.Q4_1.gguf' },
      rounds: [
        { round: 0, trainSize: 1, validation: scores(0, 0.2), test: scores(0, 0.25) },
        { round: 1, trainSize: 2, validation: scores(0.5, 0.6), test: scores(1, 1) },
      ],
      usage: { calls: 4, cachedCalls: 1, promptTokens: 300, completionTokens: 40 },
    }),
  );
  return dir;
}

/**
 * A finished classification run folder `<root>/runs/done` (ham / spam e-mails, 5 synthetic rows,
 * 4 validation and 6 test rows; pairs carry a text_pair). @returns its path
 */
export function classificationRunDir(root: string, kind: 'single' | 'pair' = 'single'): string {
  const dir = path.join(root, 'runs', 'done');
  for (const sub of ['synthetic', 'gold']) mkdirSync(path.join(dir, sub), { recursive: true });
  const labels = ['ham', 'spam'];
  const config = {
    runId: 'done',
    seed: 42,
    task: { kind, item: 'email', labels, source: { type: 'spamassassin' } },
    teacher: { provider: 'llama-cpp', temperature: 0.9, topP: 0.95, maxTokens: 96 },
    synthesis: { numRationales: 5, seedSize: 4, rounds: 1, useRationales: true, acquisition: 'misclassified' },
    student: { kind: 'tfidf-logreg' },
    budget: {},
  };
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const prov = (origin: string, round: number) => ({
    origin,
    round,
    rationales: [],
    misclassifiedId: null,
    templateId: 't',
    prompt: 'p',
    teacherModel: 'llama-cpp:SmolLM2',
    sampling: { temperature: 0.9, topP: 0.95, maxTokens: 96 },
    sampleIndex: 0,
    rawOutput: 'r',
  });
  const pair = kind === 'pair' ? { text_pair: 'hypothesis' } : {};
  const train = ['ham', 'spam', 'ham', 'spam', 'ham'].map((label, i) => ({
    id: `s${i}`,
    text: `synthetic ${label} ${i} — “quoted” ünïcode`,
    ...pair,
    label,
    provenance: prov(i < 4 ? 'seed' : 'ees', i < 4 ? 0 : 1),
  }));
  const gold = (n: number, p: string) =>
    Array.from({ length: n }, (_, i) => ({ id: `${p}${i}`, text: `${p} ${i}`, ...pair, label: labels[i % 2] }));
  const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r) + '\n').join('');
  writeFileSync(path.join(dir, 'synthetic', 'final.jsonl'), jsonl(train));
  writeFileSync(path.join(dir, 'gold', 'validation.jsonl'), jsonl(gold(4, 'v')));
  writeFileSync(path.join(dir, 'gold', 'test.jsonl'), jsonl(gold(6, 't')));
  const round = (r: number, acc: number) => ({
    round: r,
    trainSize: 4 + r,
    validation: { accuracy: acc },
    test: { accuracy: acc, macroF1: acc, count: 6 },
  });
  writeFileSync(
    path.join(dir, 'report.json'),
    JSON.stringify({
      teacher: { provider: 'llama-cpp', model: 'SmolLM2-135M-Instruct.Q4_1.gguf' },
      rounds: [round(0, 0.5), round(1, 0.75)],
      usage: { calls: 9, cachedCalls: 2, promptTokens: 100, completionTokens: 50 },
    }),
  );
  return dir;
}
