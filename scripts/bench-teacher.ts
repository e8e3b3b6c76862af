/**
 * Benchmark of the embedded teacher: throughput of the default GGUF (or S3_TEACHER_MODEL)
 * at several concurrencies, on prompts shaped like S3's T_query. Prints figures; asserts nothing.
 *
 *   npm run bench:teacher [-- --calls 8 --max-tokens 64 --concurrency 1,2,4]
 */
import { Command } from 'commander';
import { DEFAULT_TEACHER_MODEL } from '../activities/run.js';
import { getTemplate, renderPrompt } from '../domain/prompts.js';
import { disposeLlamaModels, LlamaCppTeacher } from '../teacher/index.js';

const o = new Command()
  .option('--calls <n>', 'calls per concurrency level', '8')
  .option('--max-tokens <n>', 'max tokens per call', '64')
  .option('--concurrency <list>', 'concurrency levels', '1,2,4')
  .parse()
  .opts<{ calls: string; maxTokens: string; concurrency: string }>();

const modelPath = process.env.S3_TEACHER_MODEL ?? DEFAULT_TEACHER_MODEL;
const query = getTemplate('single', 'query');
const prompts = Array.from({ length: Number(o.calls) }, (_, i) =>
  renderPrompt(query, {
    item: 'email',
    label: i % 2 ? 'spam' : 'normal (not spam)',
    rationales: ['a limited-time offer', 'a request to click a link'],
  }),
);
const params = { temperature: 0.9, topP: 0.95, maxTokens: Number(o.maxTokens) };

console.log(`teacher ${modelPath}, ${prompts.length} calls per level, maxTokens ${params.maxTokens}`);
for (const c of o.concurrency.split(',').map(Number)) {
  const teacher = new LlamaCppTeacher({ modelPath, concurrency: c });
  await teacher.complete({ prompt: 'Say hello.', sampleIndex: 999 }, { ...params, maxTokens: 4 }); // load the model
  const t0 = Date.now();
  let next = 0;
  let tokens = 0;
  let chars = 0;
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (next < prompts.length) {
        const i = next++;
        const r = await teacher.complete({ prompt: prompts[i], sampleIndex: i }, params);
        tokens += r.completionTokens;
        chars += r.text.length;
      }
    }),
  );
  const s = (Date.now() - t0) / 1000;
  console.log(
    `concurrency ${c}: ${s.toFixed(1)} s, ${(prompts.length / s).toFixed(2)} calls/s, ${(tokens / s).toFixed(1)} completion tokens/s, ${(chars / s).toFixed(0)} chars/s`,
  );
  await teacher.close();
  await disposeLlamaModels();
}
