/**
 * writeReport: the final synthetic dataset (seed ∪ all EES additions, with provenance) and
 * report.json + report.md in the run directory.
 */
import { byProvider, type PerProvider, type S3Config } from '../config/schema.js';
import { SyntheticExampleSchema, type DatasetRef, type SyntheticExample, type TeacherUsage } from '../domain/types.js';
import { roundTableMarkdown } from '../domain/roundTable.js';
import type { SteeringRecord } from '../domain/steering.js';
import type { ReportRefs, RoundResult } from '../workflows/types.js';
import type { TaskRefs } from './prepare.js';
import { runActivity } from './context.js';
import type { StoreDeps } from './deps.js';
import { runArtifacts } from './paths.js';
import { agreementSentence } from '../domain/labelAgreement.js';
import { referenceVerdicts } from './labelAgreement.js';
import { filtersSentence } from './filters.js';

/** The teacher model a report names, by provider (the configured name or GGUF; unset: "default"). */
const MODEL_NAMES: PerProvider<string | undefined> = {
  'llama-cpp': (t) => t.modelPath,
  'llama-server': (t) => t.model ?? t.modelPath,
  openai: (t) => t.model,
};

const pct = (x: number) => (100 * x).toFixed(1);

/**
 * @param input.train seed ∪ additions (in order); merged into synthetic/final.jsonl
 * @param input.startedAt workflow start, ms since epoch (for the wall time in the report)
 * @param deps the artifact store (createActivities binds the worker's; default: local folders)
 * @returns the dataset's reference and where the reports are (local paths; URIs for a store without files)
 */
export async function writeReport(
  input: {
    config: S3Config;
    task: TaskRefs;
    train: DatasetRef[];
    rounds: RoundResult[];
    usage: TeacherUsage;
    stopReason: string | null;
    startedAt: number;
    /** warnings collected by the workflow (absent in old histories) */
    warnings?: string[];
    /** the run was cancelled: the report and dataset are of what existed (workflows/steering.ts) */
    cancelled?: boolean;
    /** the Updates that steered the run (pause, setBudget, addGold, …), oldest first */
    steering?: SteeringRecord[];
  },
  deps: StoreDeps = {},
): Promise<ReportRefs> {
  return runActivity(
    input.config,
    () => ({ phase: 'report' }),
    async () => {
      const { config, task, rounds, usage } = input;
      const run = runArtifacts(deps, config);
      const rows: SyntheticExample[] = [];
      for (const ref of input.train)
        rows.push(...(await run.store.getJsonl(ref, SyntheticExampleSchema, { allowEmpty: true })));
      // label agreement with a gold-trained reference (issue 18), per example in provenance
      const agreed = await referenceVerdicts(run.store, config, task, rows, deps);
      const dataset = await run.store.putJsonl(run.key('synthetic', 'final.jsonl'), agreed?.rows ?? rows);
      const labelAgreement = agreed?.agreement;
      const wallMs = Date.now() - input.startedAt;
      const studentMs = rounds.reduce((s, r) => s + r.studentMs, 0);
      const report = {
        runId: config.runId,
        task: { kind: config.task.kind, labels: config.task.labels, item: config.task.item },
        teacher: {
          provider: config.teacher.provider,
          model: byProvider(MODEL_NAMES, config.teacher) ?? 'default',
        },
        student: config.student.kind,
        gold: { validation: task.validation, test: task.test },
        dataset,
        rounds,
        ...(labelAgreement ? { labelAgreement } : {}),
        usage,
        stopReason: input.stopReason,
        ...(input.cancelled ? { cancelled: true } : {}),
        ...(input.steering?.length ? { steering: input.steering } : {}),
        warnings: input.warnings ?? [],
        timing: {
          wallMs,
          teacherMs: usage.teacherMs,
          studentMs,
          otherMs: Math.max(0, wallMs - usage.teacherMs - studentMs),
        },
      };
      const json = await run.store.put(run.key('report.json'), JSON.stringify(report, null, 2));
      const last = rounds[rounds.length - 1];
      const md = [
        `# s3-synth run \`${config.runId}\``,
        '',
        `Task: ${config.task.kind === 'qa' ? 'extractive question answering (SQuAD EM / F1)' : `${config.task.kind} classification of ${config.task.item} (${config.task.labels.join(', ')})`}; student: ${config.student.kind}; teacher: ${report.teacher.provider} ${report.teacher.model}.`,
        '',
        roundTableMarkdown(rounds, config.budget.teacherTokens, labelAgreement),
        '',
        labelAgreement ? agreementSentence(labelAgreement) : '',
        input.cancelled
          ? `Cancelled: this report and the dataset are what the run had made when it was cancelled (${rounds.length} round(s) trained).`
          : '',
        last && last.test.exactMatch !== undefined
          ? `Final student (round ${last.round}, ${last.trainSize} synthetic questions): gold test EM ${pct(last.test.exactMatch)}%, F1 ${pct(last.test.f1 ?? 0)}% on ${last.test.count} questions.`
          : last
            ? `Final student (round ${last.round}, ${last.trainSize} synthetic examples): gold test accuracy ${pct(last.test.accuracy)}%, macro-F1 ${pct(last.test.macroF1)}% on ${last.test.count} examples.`
            : 'No student was trained.',
        ...(input.steering ?? []).map(
          (r) => `Steered: ${r.update} in ${r.phase} of round ${r.round} (${r.at}): ${r.detail}.`,
        ),
        input.stopReason ? `EES stopped early: ${input.stopReason}.` : '',
        ...(input.warnings ?? []).map((w) => `Warning: ${w}.`),
        `Teacher: ${usage.calls} calls (${usage.cachedCalls} from cache), ${usage.promptTokens} prompt / ${usage.completionTokens} completion tokens, ${usage.rejected} outputs rejected.`,
        usage.filters ? filtersSentence(usage.filters) : '',
        config.budget.teacherTokens !== undefined
          ? `Teacher budget: ${config.budget.teacherTokens} tokens, spent ${usage.promptTokens + usage.completionTokens}, remaining ${config.budget.teacherTokens - usage.promptTokens - usage.completionTokens}.`
          : '',
        `Wall time ${(wallMs / 1000).toFixed(1)} s: teacher ${(usage.teacherMs / 1000).toFixed(1)} s, student ${(studentMs / 1000).toFixed(1)} s, other ${(report.timing.otherMs / 1000).toFixed(1)} s.`,
        `Dataset: ${dataset.path} (${dataset.count} examples, sha256 ${dataset.sha256.slice(0, 12)}…).`,
        '',
      ].join('\n');
      const written = await run.store.put(run.key('report.md'), md);
      return {
        runDir: task.runDir,
        dataset,
        reportJson: json.path ?? json.uri,
        reportMd: written.path ?? written.uri,
        ...(labelAgreement ? { labelAgreement } : {}),
      };
    },
  );
}
