/**
 * prepareTask: loads and checks the gold data, writes it into the run directory, and checks
 * the teacher — everything that can be wrong with the input fails here, before any teacher call.
 */
import { resolve as resolvePath } from 'node:path';
import type { S3Config } from '../config/schema.js';
import { goldOptionsOf, limitExample, loadContextsFile, loadGoldFile } from '../data/gold.js';
import { qaGoldSplits, type QaContextRow } from '../data/qa.js';
import { spamAssassinGoldSplits } from '../data/spamassassin.js';
import { Rng } from '../domain/rng.js';
import type { DatasetRef, Example } from '../domain/types.js';
import { taskKindOf } from '../tasks/index.js';
import { invalidInput, runActivity } from './context.js';
import type { ActivityDeps } from './deps.js';
import { runArtifacts } from './paths.js';
import { checkStudent, preflightTeacher } from './preflight.js';

/** References to the gold data of a run, as written in its run directory. */
export interface TaskRefs {
  /** the run folder (absolute path), for messages; artifacts are named by their references */
  runDir: string;
  /** the run folder's URI in the artifact store, ending in "/" (`file:///abs/runs/<runId>/`):
   * where a worker that has no configuration of its own (the Python student) writes the run's
   * artifacts. Absent in old histories: the file URI of runDir. */
  runUri?: string;
  /** D_gold^(val): the small human-labeled set whose errors EES extrapolates */
  validation: DatasetRef;
  /** D_gold^(test): only scores */
  test: DatasetRef;
  /** unlabeled contexts C for sentence-pair seed synthesis (S3 §2.4); null for single-text tasks */
  contexts: DatasetRef | null;
  /** D_gold^(train): human-labeled training data for the `gold` experiment arms, when the
   * source has it (spamassassin: the e-mails outside validation/test; files: `train`).
   * Absent in old histories. */
  train?: DatasetRef | null;
  /** what the teacher preflight found, e.g. "model loaded in 0.4 s" (absent in old histories) */
  teacherCheck?: string;
  /** what the input limits changed (absent in old histories): gold rows / contexts cut to
   * task.maxChars (rows carry `truncatedFrom`), lines whose invalid UTF-8 was replaced
   * (task.source.invalidUtf8 "replace") */
  inputLimits?: { truncatedRows: number; truncatedContexts: number; replacedLines: number };
  /** things the user should know about the gold data (absent in old histories) */
  warnings?: string[];
}

/** Builds prepareTask from the worker's dependencies (the teacher pool, for the preflight). */
export function createPrepareActivities(deps: ActivityDeps) {
  return { prepareTask: (config: S3Config) => prepareTask(deps, config) };
}

/**
 * Loads and checks the gold data, then checks the teacher (preflight: model load or endpoint
 * probe) — all before any paid call.
 * @returns TaskRefs: references to <runId>/gold/*.jsonl in the run's artifact store
 * @throws ApplicationFailure InvalidInput (non-retryable) on a missing/malformed/empty file,
 *   an unknown label (naming file and line), a gold split without some label, a missing
 *   teacher model or rejected key; TeacherUnavailable (non-retryable) when the teacher does
 *   not answer the preflight
 */
async function prepareTask(deps: ActivityDeps, config: S3Config): Promise<TaskRefs> {
  const beat: Record<string, unknown> = { phase: 'gold data' };
  return runActivity(
    config,
    () => beat,
    async () => {
      checkStudent(config);
      const run = runArtifacts(deps, config);
      const { store } = run;
      await store.put(run.key('config.json'), JSON.stringify(config, null, 2));

      const { task } = config;
      const kind = taskKindOf(task);
      const src = task.source;
      let validation: Example[];
      let test: Example[];
      let contexts: string[] = [];
      // extractive QA: the pool's passages with their given answer spans (data/qa.ts)
      let qaContexts: QaContextRow[] | null = null;
      let train: Example[] | null = null;
      const limits = { truncatedRows: 0, truncatedContexts: 0, replacedLines: 0 };
      const warnings: string[] = [];
      const gold = goldOptionsOf(config);
      if (src.type === 'spamassassin') {
        ({ validation, test, train } = await spamAssassinGoldSplits({ seed: config.seed, ...src }));
        const cut = (rows: Example[]) =>
          rows.map((r) => {
            const l = limitExample(r, gold.maxChars);
            if (l.truncated) limits.truncatedRows++;
            return l.row;
          });
        validation = cut(validation);
        test = cut(test);
        train = cut(train);
      } else if (kind.rowFormat === 'squad') {
        const qa = await qaGoldSplits(src, config.seed);
        ({ validation, test, train } = qa);
        qaContexts = qa.contexts;
        contexts = qa.contexts.map((c) => c.text);
        const { dropped } = qa;
        if (dropped.validation + dropped.contexts + dropped.train)
          warnings.push(
            `questions about a test passage left out: ${dropped.validation} of validation, ${dropped.contexts} of the contexts pool, ${dropped.train} of train`,
          );
      } else {
        const opts = { ...gold, fields: src.fields, labels: task.labels, kind: task.kind };
        const v = await loadGoldFile(src.validation, opts);
        const t = await loadGoldFile(src.test, opts);
        validation = v.rows;
        test = t.rows;
        limits.replacedLines += v.replacedLines + t.replacedLines;
        if (src.validationSize)
          validation = kind.sample(validation, src.validationSize, new Rng(config.seed, 'gold-val'));
        // one file for both (e.g. QNLI, whose only labeled split is GLUE dev): test is drawn
        // from the rows validation did not take, so the two are disjoint
        const oneFile = resolvePath(src.validation) === resolvePath(src.test);
        if (oneFile) {
          const taken = new Set(validation.map((r) => r.id));
          test = test.filter((r) => !taken.has(r.id));
        }
        if (src.testSize) test = kind.sample(test, src.testSize, new Rng(config.seed, 'gold-test'));
        if (src.train) {
          const tr = await loadGoldFile(src.train, opts);
          limits.replacedLines += tr.replacedLines;
          let trainRows = tr.rows;
          // the same file as validation / test: the gold train split is the rows neither took
          if (
            resolvePath(src.train) === resolvePath(src.validation) ||
            resolvePath(src.train) === resolvePath(src.test)
          ) {
            const taken = new Set([...validation, ...test].map((r) => r.id));
            trainRows = trainRows.filter((r) => !taken.has(r.id));
          }
          train = kind.sample(trainRows, src.trainSize, new Rng(config.seed, 'gold-train'));
          const held = new Set([...validation, ...test].map(kind.heldOutKey));
          const overlap = train.filter((r) => held.has(kind.heldOutKey(r))).length;
          if (overlap) warnings.push(`${overlap} gold train text(s) also occur in gold validation/test (${src.train})`);
        }
        limits.truncatedRows += [...validation, ...test].filter((r) => r.truncatedFrom).length;
        if (kind.usesContexts) {
          const c = await loadContextsFile(
            src.contexts ?? src.validation,
            src.fields,
            src.contextsSize,
            new Rng(config.seed, 'contexts'),
            gold,
          );
          contexts = c.contexts;
          // contexts read from the test file: no test premise is a synthesis context
          if (resolvePath(src.contexts ?? src.validation) === resolvePath(src.test)) {
            const testTexts = new Set(test.map((r) => r.text.trim()));
            contexts = contexts.filter((t) => !testTexts.has(t));
          }
          limits.truncatedContexts = c.truncated;
          if (src.contexts) limits.replacedLines += c.replacedLines;
        }
      }
      for (const [name, rows] of [
        ['validation', validation],
        ['test', test],
      ] as const) {
        const problem = kind.checkSplit(name, rows, task.labels);
        if (problem) throw invalidInput(problem);
      }
      if (kind.usesContexts && contexts.length === 0) throw invalidInput(`${kind.title} task has no contexts`);

      beat.phase = 'teacher preflight';
      const teacherCheck = await preflightTeacher(deps, config);
      return {
        teacherCheck,
        runDir: run.dir,
        runUri: run.uri,
        validation: await store.putJsonl(run.key('gold', 'validation.jsonl'), validation),
        test: await store.putJsonl(run.key('gold', 'test.jsonl'), test),
        train: train ? await store.putJsonl(run.key('gold', 'train.jsonl'), train) : null,
        ...(warnings.length ? { warnings } : {}),
        contexts: kind.usesContexts
          ? await store.putJsonl(
              run.key('gold', 'contexts.jsonl'),
              qaContexts ?? contexts.map((text, i) => ({ id: `ctx-${i}`, text })),
            )
          : null,
      };
    },
  );
}
