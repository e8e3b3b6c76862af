import { LlamaCppTeacher, disposeLlamaModels } from './teacher/index.js';
const t = new LlamaCppTeacher({ modelPath: '/tmp/smol.gguf', concurrency: 2, threads: 2 });
const prompts = [
  'Write a positive movie review.',
  'Write a movie review that is negative.',
  'Write an e-mail that is spam.',
  'Write an e-mail that is ham (a normal, legitimate e-mail).',
  'List 5 reasons why an e-mail is spam.',
  'List 5 reasons why a movie review is positive.',
  'Here is an e-mail: "Hi John, the meeting is moved to 3pm." Write a new e-mail similar to it that is ham.',
];
const out: unknown[] = [];
const t0 = Date.now();
await Promise.all(prompts.flatMap((p) => [0, 1].map(async (i) => { const r = await t.complete({ prompt: p, sampleIndex: i }, { temperature: 0.9, topP: 0.95, maxTokens: 96 }); out.push({ p, i, ...r }); })));
console.error('total ms', Date.now() - t0);
console.log(JSON.stringify(out, null, 1));
await t.close();
