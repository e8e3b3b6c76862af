/**
 * How many of the embedded teacher's replies to S3's AdQA question prompt (Table 1,
 * T_query^(2)) pass the QA cleaning, with and without `teacher.grammar` (constrained decoding
 * with tasks/qa.ts QA_QUESTION_GRAMMAR). Development aid for docs/teachers.md; prints figures,
 * asserts nothing.
 *
 * Usage: node --import tsx scripts/dev/qa-grammar-yield.ts [qa.jsonl] [questions] [every]
 *   qa.jsonl   SQuAD-style rows (default ../shared/datasets/adversarial_qa/test.jsonl)
 *   questions  prompts per setting (default 40): rows 0, every, 2·every, … of the file
 *   every      stride through the file (default 20, so the prompts span many passages)
 * Teacher: models/SmolLM2-135M-Instruct.Q4_1.gguf (or S3_TEACHER_MODEL), temperature 0.9,
 * topP 0.95, maxTokens 48 (configs/adqa.json), 2 sequences, all cores; no cache.
 */
import os from 'node:os';
import path from 'node:path';
import { loadQaJsonl } from '../../data/qa.js';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { renderPrompt } from '../../domain/prompts.js';
import { taskKindOf } from '../../tasks/index.js';
import { disposeLlamaModels, LlamaCppTeacher } from '../../teacher/index.js';

const file = process.argv[2] ?? path.join(PROJECT_ROOT, '..', 'shared', 'datasets', 'adversarial_qa', 'test.jsonl');
const n = Number(process.argv[3] ?? 40);
const every = Number(process.argv[4] ?? 20);
const modelPath = process.env.S3_TEACHER_MODEL ?? path.join(PROJECT_ROOT, 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');

const rows = (await loadQaJsonl(file)).filter((_, i) => i % every === 0).slice(0, n);
// the product's seed prompt of each row (T_query^(2)), its reply grammar and its question check
const qa = taskKindOf({ kind: 'qa' });
const plans = rows.map((r) =>
  qa.seedPrompt(
    { rationales: [], context: r.context, answer: { text: r.answers.text[0], start: r.answers.answer_start[0] } },
    { prompts: {}, item: 'question', label: 'answer', examples: [] },
  ),
);
const teacher = new LlamaCppTeacher({ modelPath, concurrency: 2, threads: os.availableParallelism() });
const params = { temperature: 0.9, topP: 0.95, maxTokens: 48 };
console.log(`${rows.length} AdQA prompts from ${path.basename(file)}, ${path.basename(modelPath)}, maxTokens 48`);
console.log('| teacher.grammar | kept | rejected by reason | completion tokens (mean) | s per call |');
console.log('|---|---|---|---|---|');
for (const grammar of [false, true]) {
  const reasons: Record<string, number> = {};
  const t0 = performance.now();
  const replies = await Promise.all(
    plans.map((plan, i) =>
      teacher.complete(
        {
          prompt: renderPrompt(plan.template, plan.vars),
          sampleIndex: i,
          ...(grammar ? { grammar: plan.grammar } : {}),
        },
        params,
      ),
    ),
  );
  const s = (performance.now() - t0) / 1000;
  replies.forEach((reply, i) => {
    const why = plans[i].check?.(reply.text) ?? 'kept';
    reasons[why] = (reasons[why] ?? 0) + 1;
  });
  const kept = reasons.kept ?? 0;
  delete reasons.kept;
  const tokens = replies.reduce((a, r) => a + r.completionTokens, 0) / replies.length;
  const why = Object.entries(reasons)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(
    `| ${grammar ? 'on' : 'off'} | ${kept} of ${rows.length} | ${why || '–'} | ${tokens.toFixed(1)} | ${(s / rows.length).toFixed(2)} |`,
  );
  console.log(
    `  e.g. ${replies
      .slice(0, 3)
      .map((r) => JSON.stringify(r.text.slice(0, 100)))
      .join(' · ')}`,
  );
}
await teacher.close();
await disposeLlamaModels();
