/**
 * The quality filters where the teacher's outputs are accepted (issue 18 item 2): the teacher
 * activities (activities/synthesize.ts) hand every output that passed cleaning and the copy /
 * duplicate checks to `OutputFilters.check`, which runs the filters the configuration turns on
 * (synthesis.filters) in a fixed order, cheapest first:
 * 1. `metaTalk` — pattern rules (quality/filters/metaTalk.ts);
 * 2. `nearDuplicates` — MinHash/LSH against the training set the activity was given and the
 *    outputs kept before (quality/filters/nearDuplicates.ts);
 * 3. `reference` — p(asked label) under a gold-trained reference classifier
 *    (quality/labelAgreement.ts fitReference);
 * 4. `selfCheck` — the teacher classifies its own output (quality/filters/selfCheck.ts); its
 *    calls go through the activity's teacher session (cache, budget) and come last, so the
 *    teacher is never paid to check an output another filter drops.
 * A dropped output becomes a rejection (`*.rejected.jsonl`, reason `<filter>:<rule>` with a
 * detail) and is asked again like any rejected output; what each filter looked at and dropped
 * (and the self-check's calls and tokens) goes into the activity's usage (`usage.filters`), which
 * the loop adds up into rounds, report.json and arm results.
 */
import type { S3Config } from '../config/schema.js';
import { labelWord } from '../domain/prompts.js';
import {
  ExampleSchema,
  type Example,
  type FilterTally,
  type SamplingParams,
  type TeacherUsage,
} from '../domain/types.js';
import { activeFilters, type FilterName, type FiltersConfig } from '../quality/filters/schema.js';
import { metaTalkRules, type MetaTalkRules } from '../quality/filters/metaTalk.js';
import { NearDuplicateIndex } from '../quality/filters/nearDuplicates.js';
import { parseSelfCheck, SELF_CHECK_MAX_TOKENS, selfCheckPrompt } from '../quality/filters/selfCheck.js';
import { fitReference, type Reference } from '../quality/labelAgreement.js';
import type { ArtifactStore } from '../store/index.js';
import { isRefusal, type TeacherCall, type TeacherRefusal, type TeacherReply } from '../teacher/index.js';
import { taskKindOf } from '../tasks/index.js';
import type { StoreDeps } from './deps.js';
import { referenceCandidatesOf } from './labelAgreement.js';
import { studentConfigOf } from './paths.js';
import type { TaskRefs } from './prepare.js';

/** One output that passed cleaning and the copy / duplicate checks. */
export interface FilterCandidate {
  /** the want's id (e.g. "seed-12", "ees1-v-40") */
  id: string;
  /** the asked label */
  label: string;
  /** the cleaned output (for a pair task: the written sentence) */
  output: string;
  /** the new example as the student reads it (a pair task keeps its context in `text`) */
  input: Pick<Example, 'text' | 'text_pair'>;
  /** the teacher sample index of the output (the self-check call uses the same index) */
  sampleIndex: number;
}

/** Why a candidate was dropped. */
export interface FilterDrop {
  /** `<filter>:<rule>`, e.g. "metaTalk:assistant", "selfCheck:other-label" */
  reason: string;
  /** e.g. "similar to seed-3 (0.81)", "teacher answered \"spam\"" */
  detail: string;
}

/** Asks the teacher (the activity's session: counted into its usage and token budget); returns
 * the counted outcomes, a prefix of `calls` when the budget ran out. */
export type AskTeacher = (calls: TeacherCall[], sampling: SamplingParams) => Promise<(TeacherReply | TeacherRefusal)[]>;

/** Fitted references of this worker process, by gold data and settings (a reference is fitted
 * once per run, not once per activity). */
const references = new Map<string, Promise<Reference>>();

/** The reference of the filter: trained on gold validation, or (trainOn "train") the gold train
 * split when there is one (a seeded sample of at most REFERENCE_MAX_TRAIN, as label agreement);
 * the same candidates as label agreement (TF-IDF, and the run's encoder student when it is one). */
async function referenceFor(
  store: ArtifactStore,
  config: S3Config,
  task: TaskRefs,
  trainOn: FiltersConfig['referenceTrainOn'],
  deps: StoreDeps,
): Promise<Reference> {
  const useTrain = trainOn === 'train' && !!task.train && task.train.count > 0;
  const student = studentConfigOf(config);
  const key = [
    task.validation.sha256,
    useTrain ? task.train!.sha256 : '-',
    config.seed,
    config.task.labels.join('\u0001'),
    JSON.stringify(student),
  ].join('|');
  let r = references.get(key);
  if (!r) {
    r = (async () => {
      const validation = await store.getJsonl(task.validation, ExampleSchema, { allowEmpty: true });
      const train = useTrain ? await store.getJsonl(task.train!, ExampleSchema, { allowEmpty: true }) : null;
      return fitReference({ train, validation }, config.task.labels, config.seed, referenceCandidatesOf(config, deps));
    })();
    references.set(key, r);
    r.catch(() => references.delete(key));
  }
  return r;
}

/** The filters of one teacher activity. */
export class OutputFilters {
  private readonly tallies = new Map<FilterName, FilterTally>();
  private readonly meta: MetaTalkRules;
  private readonly near: NearDuplicateIndex | null;

  private constructor(
    private readonly config: S3Config,
    private readonly f: FiltersConfig,
    readonly active: FilterName[],
    private readonly reference: Reference | null,
    seen: readonly string[],
  ) {
    const { task } = config;
    const words = task.labels.map((l) => labelWord(l, task.labelWords));
    this.meta = metaTalkRules({ item: task.item, labelWords: words });
    this.near = f.nearDuplicates ? new NearDuplicateIndex(f.nearDuplicateJaccard, config.seed) : null;
    seen.forEach((text, i) => this.near?.add(`train-${i}`, text));
    for (const n of active)
      this.tallies.set(n, { checked: 0, dropped: 0, ...(n === 'selfCheck' ? { calls: 0, tokens: 0 } : {}) });
  }

  /**
   * The filters a run configures, ready for one activity; null when it configures none (the
   * activity then runs exactly as without filters).
   * @param seen the texts already in the training set (the written part of each example: for
   *   a pair task, its sentence), for the near-duplicate filter
   * @param deps opens the shared embedding cache when the reference may be the encoder student
   */
  static async open(
    store: ArtifactStore,
    config: S3Config,
    task: TaskRefs | undefined,
    seen: readonly string[] = [],
    deps: StoreDeps = {},
  ): Promise<OutputFilters | null> {
    const f = config.synthesis.filters;
    const active = activeFilters(f);
    if (!f || !active.length) return null;
    const reference = f.reference && task ? await referenceFor(store, config, task, f.referenceTrainOn, deps) : null;
    return new OutputFilters(config, f, active, reference, seen);
  }

  private count(name: FilterName, checked: number, dropped: number): void {
    const t = this.tallies.get(name);
    if (!t) return;
    t.checked += checked;
    t.dropped += dropped;
  }

  /**
   * Runs the configured filters on one batch of outputs (in want order).
   * @param ask the activity's teacher (only the self-check asks)
   * @returns per candidate, null when it is kept or why it was dropped; kept outputs join the
   *   near-duplicate index
   */
  async check(cands: FilterCandidate[], ask: AskTeacher): Promise<(FilterDrop | null)[]> {
    const verdict: (FilterDrop | null)[] = cands.map(() => null);
    const open = () => cands.map((_, i) => i).filter((i) => verdict[i] === null);
    // 1. instruction echo and meta-talk
    if (this.f.metaTalk) {
      const idx = open();
      for (const i of idx) {
        const rule = this.meta.output(cands[i].output);
        if (rule) verdict[i] = { reason: `metaTalk:${rule}`, detail: `meta-talk rule "${rule}"` };
      }
      this.count('metaTalk', idx.length, idx.filter((i) => verdict[i]).length);
    }
    // 2. near-duplicates of the training set, of outputs kept before and of earlier outputs of
    // this batch (indexed at once; one that a later filter drops is taken out again below)
    const provisional: number[] = [];
    if (this.near) {
      const idx = open();
      for (const i of idx) {
        const m = this.near.nearest(cands[i].output);
        if (m) {
          const of = m.key.startsWith('train-') ? 'an example of the training set' : m.key;
          verdict[i] = {
            reason: 'nearDuplicates:jaccard',
            detail: `near-duplicate of ${of} (estimated Jaccard ${m.similarity.toFixed(2)})`,
          };
        } else {
          provisional.push(i);
          this.near.add(cands[i].id, cands[i].output);
        }
      }
      this.count('nearDuplicates', idx.length, idx.filter((i) => verdict[i]).length);
    }
    // 3. reference disagreement
    if (this.reference) {
      const idx = open();
      const ps = await this.reference.judge(
        idx.map((i) => ({ id: cands[i].id, label: cands[i].label, ...cands[i].input })),
      );
      idx.forEach((i, j) => {
        if (ps[j].p < this.f.referenceMinProb)
          verdict[i] = {
            reason: 'reference:low-probability',
            detail: `reference p(${cands[i].label}) = ${ps[j].p.toFixed(3)} < ${this.f.referenceMinProb} (it says ${ps[j].label})`,
          };
      });
      this.count('reference', idx.length, idx.filter((i) => verdict[i]).length);
    }
    // 4. teacher self-check (paid calls, last)
    if (this.f.selfCheck) await this.selfCheck(cands, verdict, open(), ask);
    for (const i of provisional) if (verdict[i] !== null) this.near!.remove(cands[i].id);
    return verdict;
  }

  private async selfCheck(
    cands: FilterCandidate[],
    verdict: (FilterDrop | null)[],
    idx: number[],
    ask: AskTeacher,
  ): Promise<void> {
    const { task } = this.config;
    const words = task.labels.map((l) => labelWord(l, task.labelWords));
    const kind = taskKindOf(task);
    const calls = idx.map((i) => {
      const c = cands[i];
      // the context the task kind shows an example with (a pair's premise; none for a single text)
      const { context } = kind.showExample(c.input, { item: task.item, label: '' });
      return {
        prompt: selfCheckPrompt({
          template: this.f.selfCheckPrompt,
          kind: kind.name,
          item: task.item,
          labelWords: words,
          example: c.output,
          ...(context !== undefined ? { context } : {}),
        }),
        sampleIndex: c.sampleIndex,
      };
    });
    const sampling: SamplingParams = { temperature: 0, topP: 1, maxTokens: SELF_CHECK_MAX_TOKENS };
    const replies = calls.length ? await ask(calls, sampling) : [];
    const t = this.tallies.get('selfCheck')!;
    let dropped = 0;
    idx.forEach((i, j) => {
      const r = replies[j];
      if (r === undefined) {
        // the budget ran out before this output could be checked: not kept unchecked
        verdict[i] = { reason: 'selfCheck:budget', detail: 'the token budget ran out before the self-check call' };
        dropped++;
        return;
      }
      t.calls! += 1;
      if (isRefusal(r)) {
        verdict[i] = { reason: 'selfCheck:refused', detail: 'the self-check prompt did not fit the teacher context' };
        dropped++;
        return;
      }
      t.tokens! += r.promptTokens + r.completionTokens;
      const said = parseSelfCheck(r.text, task.labels, words);
      if (said === null) {
        if (this.f.selfCheckUnclear === 'drop') {
          verdict[i] = {
            reason: 'selfCheck:unclear',
            detail: `teacher answered ${JSON.stringify(r.text.slice(0, 80))}`,
          };
          dropped++;
        }
        return;
      }
      if (said !== cands[i].label) {
        verdict[i] = {
          reason: 'selfCheck:other-label',
          detail: `teacher answered ${JSON.stringify(r.text.slice(0, 80))} (${said})`,
        };
        dropped++;
      }
    });
    this.count('selfCheck', idx.length, dropped);
  }

  /** Meta-talk of one parsed rationale (null when metaTalk is off or the rationale is fine). */
  rationale(text: string): string | null {
    if (!this.f.metaTalk) return null;
    const rule = this.meta.rationale(text);
    this.count('metaTalk', 1, rule ? 1 : 0);
    return rule ? `metaTalk:${rule}` : null;
  }

  /** What every filter did in this activity, for `usage.filters`. */
  tally(): Record<string, FilterTally> {
    return Object.fromEntries([...this.tallies].map(([n, t]) => [n, { ...t }]));
  }

  /** Adds this activity's tallies to its usage. */
  addTo(usage: TeacherUsage): void {
    usage.filters = this.tally();
  }
}

/**
 * One line for report.md: what each filter looked at and dropped, and the self-check's cost.
 * E.g. "Filters: selfCheck dropped 14 of 19 outputs (19 teacher calls, 1424 tokens, counted above)."
 */
export function filtersSentence(filters: Record<string, FilterTally>): string {
  const parts = Object.entries(filters).map(
    ([name, t]) =>
      `${name} dropped ${t.dropped} of ${t.checked} outputs` +
      (t.calls !== undefined ? ` (${t.calls} teacher calls, ${t.tokens ?? 0} tokens, counted above)` : ''),
  );
  return `Filters: ${parts.join('; ')} (rejected outputs with reasons: synthetic/*.rejected.jsonl).`;
}
