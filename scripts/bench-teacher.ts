/**
 * Benchmark of the embedded teacher against llama.cpp's own tools, in one run, on the same
 * GGUF (the default teacher or S3_TEACHER_MODEL), the same threads and one prompt set shaped
 * like S3's (T_query prompts and T_mis prompts with an e-mail in them). Prints figures; asserts
 * nothing.
 *
 * For each concurrency c (calls in flight = sequences of the shared context):
 * - prompt tokens/s: the prompt set with maxTokens 1 (prompt evaluation, plus one sampled token)
 * - completion tokens/s: the prompt set with maxTokens N, completion tokens / wall time, end to
 *   end as the synthesis job sees it (prompt evaluation included)
 * and, when `.tools/llama.cpp/bin` holds them (S3_LLAMA_TOOLS=1 bash scripts/setup.sh):
 * - llama-bench: pp<P> and tg<N> tokens/s of one sequence (P = the mean prompt tokens)
 * - llama-batched-bench: c parallel sequences of P prompt + N generated tokens; its prompt
 *   tokens/s and its end-to-end completion tokens/s (c·N over prompt + generation time), the
 *   same measure as ours; the ratio compares the two.
 *
 *   npm run bench:teacher [-- --calls 16 --max-tokens 96 --concurrency 1,2,4,8 --reps 1]
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { DEFAULT_TEACHER_MODEL } from '../activities/paths.js';
import { renderPrompt } from '../domain/prompts.js';
import { getTemplate } from '../tasks/index.js';
import { disposeLlamaModels, LlamaCppTeacher } from '../teacher/index.js';

const o = new Command()
  .option('--calls <n>', 'calls per concurrency level and repetition', '16')
  .option('--max-tokens <n>', 'max tokens per call (the default job uses 96)', '96')
  .option('--concurrency <list>', 'concurrency levels', '1,2,4,8')
  .option('--reps <n>', 'repetitions per level (each figure is their mean; all are printed)', '1')
  .option('--threads <n>', 'CPU threads (default: all cores, as the teacher)', String(os.availableParallelism()))
  .option('--no-llama-tools', 'skip llama.cpp tools even when installed')
  .parse()
  .opts<{
    calls: string;
    maxTokens: string;
    concurrency: string;
    reps: string;
    threads: string;
    llamaTools: boolean;
  }>();

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const modelPath = process.env.S3_TEACHER_MODEL ?? DEFAULT_TEACHER_MODEL;
const maxTokens = Number(o.maxTokens);
const threads = Number(o.threads);
const levels = o.concurrency.split(',').map(Number);
const reps = Number(o.reps);
const toolsDir = path.join(root, '.tools', 'llama.cpp', 'bin');
const run = promisify(execFile);

// prompt set: alternating T_query (labels, rationales) and T_mis (with a ~700-character e-mail)
const query = getTemplate('single', 'query');
const mis = getTemplate('single', 'mis');
const email =
  'Subject: Your account statement is ready\n' +
  'Dear customer, your monthly statement for the period ending March 31 is now available online. ' +
  'To view it, sign in to your account and open the Documents tab. If you did not request paper ' +
  'statements, no action is needed. For questions about charges, reply to this message or call the ' +
  'number on the back of your card between 8am and 8pm. We will never ask for your password by email. ' +
  'Thank you for banking with us, and have a good week. Best regards, the customer service team. ';
const rationales = [
  ['a limited-time offer', 'a request to click a link'],
  ['a personal greeting', 'a question about a meeting'],
  ['an unknown sender', 'promises of money'],
  ['a reply to an earlier thread', 'technical details'],
];
const prompts = Array.from({ length: Number(o.calls) }, (_, i) => {
  const label = i % 4 < 2 ? 'spam' : 'normal (not spam)';
  return i % 2
    ? renderPrompt(mis, { item: 'email', label, example: email.slice(0, 500 + 50 * (i % 5)) })
    : renderPrompt(query, { item: 'email', label, rationales: rationales[((i / 2) % 4) | 0] });
});

interface Level {
  c: number;
  promptTps: number[];
  completionTps: number[];
  completionTokens: number[];
}

/** `prompts` through `teacher`, `c` in flight; returns tokens and seconds */
async function pass(teacher: LlamaCppTeacher, c: number, max: number, rep: number) {
  const t0 = performance.now();
  let next = 0;
  let promptTokens = 0;
  let completionTokens = 0;
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (next < prompts.length) {
        const i = next++;
        const r = await teacher.complete(
          { prompt: prompts[i], sampleIndex: 1000 * rep + i },
          {
            temperature: 0.9,
            topP: 0.95,
            maxTokens: max,
          },
        );
        promptTokens += r.promptTokens;
        completionTokens += r.completionTokens;
      }
    }),
  );
  return { promptTokens, completionTokens, s: (performance.now() - t0) / 1000 };
}

const probeTeacher = new LlamaCppTeacher({ modelPath, concurrency: 1, threads });
const probe = await probeTeacher.probe();
const promptTokenCounts = await Promise.all(prompts.map((p) => probeTeacher.countPromptTokens(p)));
await probeTeacher.close();
await disposeLlamaModels();
const meanPrompt = Math.round(promptTokenCounts.reduce((a, b) => a + b, 0) / promptTokenCounts.length);
console.log(`model ${modelPath}`);
console.log(`embedded teacher: ${probe.detail}`);
console.log(
  `prompt set: ${prompts.length} calls per level and repetition, ${Math.min(...promptTokenCounts)}–${Math.max(...promptTokenCounts)} prompt tokens (mean ${meanPrompt}), maxTokens ${maxTokens}, temperature 0.9, topP 0.95, threads ${threads}, ${reps} repetition(s)`,
);

const ours: Level[] = [];
for (const c of levels) {
  const teacher = new LlamaCppTeacher({ modelPath, concurrency: c, threads });
  await teacher.complete({ prompt: 'Say hello.', sampleIndex: 999 }, { temperature: 0.9, topP: 0.95, maxTokens: 4 }); // load + warm up
  const level: Level = { c, promptTps: [], completionTps: [], completionTokens: [] };
  for (let rep = 0; rep < reps; rep++) {
    const pp = await pass(teacher, c, 1, rep);
    const tg = await pass(teacher, c, maxTokens, rep);
    level.promptTps.push(pp.promptTokens / pp.s);
    level.completionTps.push(tg.completionTokens / tg.s);
    level.completionTokens.push(tg.completionTokens);
    console.log(
      `  ours c=${c} rep ${rep + 1}: prompt ${pp.promptTokens} tok in ${pp.s.toFixed(2)} s = ${(pp.promptTokens / pp.s).toFixed(0)} tok/s; ` +
        `completion ${tg.completionTokens} tok (+${tg.promptTokens} prompt) in ${tg.s.toFixed(2)} s = ${(tg.completionTokens / tg.s).toFixed(1)} tok/s`,
    );
  }
  ours.push(level);
  await teacher.close();
  await disposeLlamaModels();
}

// llama.cpp's own tools, same GGUF and threads
interface Ref {
  promptTps?: number;
  completionTps?: number;
  tgTps?: number;
}
const ref = new Map<number, Ref>();
let single: { pp: number; tg: number } | undefined;
let toolsNote = '';
const bench = path.join(toolsDir, 'llama-bench');
const batched = path.join(toolsDir, 'llama-batched-bench');
if (!o.llamaTools) toolsNote = 'skipped (--no-llama-tools)';
else if (!existsSync(bench) || !existsSync(batched))
  toolsNote = 'not installed (S3_LLAMA_TOOLS=1 bash scripts/setup.sh builds them)';
else {
  try {
    const { stdout } = await run(
      bench,
      [
        '-m',
        modelPath,
        '-t',
        String(threads),
        '-p',
        String(meanPrompt),
        '-n',
        String(maxTokens),
        '-r',
        String(Math.max(3, reps)),
        '-o',
        'json',
      ],
      { maxBuffer: 1 << 24 },
    );
    const rows = JSON.parse(stdout) as { n_prompt: number; n_gen: number; avg_ts: number }[];
    single = {
      pp: rows.find((r) => r.n_prompt > 0 && r.n_gen === 0)?.avg_ts ?? NaN,
      tg: rows.find((r) => r.n_gen > 0 && r.n_prompt === 0)?.avg_ts ?? NaN,
    };
    console.log(
      `  llama-bench: pp${meanPrompt} ${single.pp.toFixed(0)} tok/s, tg${maxTokens} ${single.tg.toFixed(1)} tok/s (1 sequence)`,
    );
  } catch (err) {
    toolsNote += `llama-bench failed: ${(err as Error).message.split('\n')[0]}. `;
  }
  try {
    const ctx = Math.max(...levels) * (meanPrompt + maxTokens) + 256;
    const { stdout } = await run(
      batched,
      [
        '-m',
        modelPath,
        '-t',
        String(threads),
        '-tb',
        String(threads),
        '-c',
        String(ctx),
        '-b',
        '2048',
        '-ub',
        '512',
        '-npp',
        String(meanPrompt),
        '-ntg',
        String(maxTokens),
        '-npl',
        levels.join(','),
      ],
      { maxBuffer: 1 << 24 },
    );
    // | PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | T s | S t/s |
    for (const line of stdout.split('\n')) {
      const cells = line
        .split('|')
        .map((s) => s.trim())
        .filter(Boolean)
        .map(Number);
      if (cells.length !== 10 || cells.some((n) => Number.isNaN(n))) continue;
      const [, tg, b, , , sPp, , sTg, t] = cells;
      ref.set(b, { promptTps: sPp, tgTps: sTg, completionTps: (b * tg) / t });
    }
    for (const [b, r] of ref)
      console.log(
        `  llama-batched-bench B=${b}: prompt ${r.promptTps!.toFixed(0)} tok/s, generation ${r.tgTps!.toFixed(1)} tok/s, completion end to end ${r.completionTps!.toFixed(1)} tok/s`,
      );
    if (ref.size === 0) toolsNote += 'llama-batched-bench printed no table. ';
  } catch (err) {
    toolsNote += `llama-batched-bench failed: ${(err as Error).message.split('\n')[0]}. `;
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (n: number | undefined, d = 1) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(d));
console.log('');
console.log(`llama.cpp tools: ${toolsNote || toolsDir}`);
if (single)
  console.log(`llama-bench (1 sequence): prompt ${fmt(single.pp, 0)} tok/s, generation ${fmt(single.tg)} tok/s`);
console.table(
  ours.map((l) => {
    const r = ref.get(l.c);
    const ratio = r?.completionTps ? mean(l.completionTps) / r.completionTps : undefined;
    return {
      concurrency: l.c,
      'ours prompt tok/s': fmt(mean(l.promptTps), 0),
      'ours completion tok/s': fmt(mean(l.completionTps)),
      'llama.cpp prompt tok/s': fmt(r?.promptTps, 0),
      'llama.cpp completion tok/s': fmt(r?.completionTps),
      'completion ratio': ratio === undefined ? '—' : `${(100 * ratio).toFixed(0)}%`,
      'prompt ratio': r?.promptTps ? `${((100 * mean(l.promptTps)) / r.promptTps).toFixed(0)}%` : '—',
    };
  }),
);
console.log(
  'completion tok/s = completion tokens / wall time, prompt evaluation included (llama.cpp: B·N / (T_PP + T_TG));\n' +
    'our calls stop early at end of turn, llama-batched-bench always generates N tokens per sequence.',
);
