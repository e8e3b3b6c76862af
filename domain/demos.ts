/**
 * Demonstrations for small teachers (issue 18 item 4): `synthesis.seedDemos: k` shows k gold
 * validation examples of the asked label above every seed prompt, so that a small teacher sees
 * what "a spam email" of this task looks like instead of guessing from the label word. The
 * examples are human-labeled: like GoldGen's T_mis prompts they spend gold examples (the
 * validation set S3 already holds), which plain S3 seed prompts do not.
 *
 * Which examples: for seed index i, k distinct examples of the asked label drawn uniformly by
 * Rng(seed, "demos-<i>"), so index i always shows the same ones (fill-up batches and resumed
 * runs ask the same prompts, and the per-call cache answers them). Each is cut to
 * DEMO_MAX_CHARS characters. An output that copies one of them is rejected
 * (`copy_of_demo`), as a copy of an EES prompt's example is.
 *
 * Pure module.
 */
import { judgeOutput } from './cleaning.js';
import { renderPrompt, type Template } from './prompts.js';
import { Rng } from './rng.js';

/** Demonstrations per seed prompt of the `s3-demos` method when synthesis.seedDemos is unset. */
export const DEFAULT_SEED_DEMOS = 2;
/** Longest demonstration shown, in characters (a cut one ends with "…"). */
export const DEMO_MAX_CHARS = 300;

/** The heading above the seed prompt. */
const HEADING: Template = { id: 'seedDemos', text: 'Here are examples of a {label} {item}:\n{examples}\n\n' };

/**
 * k seeded demonstrations of one label for seed index `index`.
 * @param pool the gold validation examples of that label ({id, text}; text is what the teacher writes)
 * @returns at most k of them (fewer when the label has fewer), texts cut to DEMO_MAX_CHARS
 */
export function pickDemos(
  pool: readonly { id: string; text: string }[],
  k: number,
  seed: number,
  index: number,
): { ids: string[]; texts: string[] } {
  const picked = new Rng(seed, `demos-${index}`).sample(pool, k);
  return {
    ids: picked.map((x) => x.id),
    texts: picked.map((x) => (x.text.length > DEMO_MAX_CHARS ? `${x.text.slice(0, DEMO_MAX_CHARS - 1)}…` : x.text)),
  };
}

/** The seed prompt with its demonstrations above it (unchanged without demonstrations). */
export function withDemos(prompt: string, demos: readonly string[], vars: { item: string; label: string }): string {
  if (!demos.length) return prompt;
  return renderPrompt(HEADING, { ...vars, examples: demos.map((d) => d.replace(/\s+/g, ' ')) }) + prompt;
}

/** Whether a cleaned output copies one of the demonstrations (judgeOutput's copy rule). */
export function copiesDemo(output: string, demos: readonly string[]): boolean {
  return demos.some((d) => {
    const v = judgeOutput(output, { promptExample: d.replace(/…$/, ''), seen: new Set() });
    return !v.ok && v.reason === 'copy_of_prompt_example';
  });
}
