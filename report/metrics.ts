/**
 * How the experiment report names the two scores every result carries (SplitMetrics `accuracy`
 * and `macroF1`). A classification task reports accuracy and macro-F1; an extractive QA task
 * (tasks/qa.ts) stores SQuAD v1.1 Exact Match in `accuracy` and F1 in `macroF1` and is reported
 * as EM / F1, as the single run's report.md and round table do (domain/roundTable.ts).
 * Pure module.
 */
import type { ExperimentSummary } from '../domain/experiment.js';

/** The words for the two scores in the table, chart titles and text. */
export interface MetricNames {
  /** `accuracy` in table heads: "acc" / "EM" */
  readonly acc: string;
  /** `accuracy` in titles and text: "accuracy" / "EM" */
  readonly accuracy: string;
  /** `accuracy` spelled out once in the explanation: "accuracy" / "SQuAD exact match (EM)" */
  readonly accuracyLong: string;
  /** `macroF1`: "macro-F1" / "F1" */
  readonly f1: string;
  /** `macroF1` spelled out once: "macro-F1" / "SQuAD token F1" */
  readonly f1Long: string;
  /**
   * The `labels` to give aucByArm (domain/statistics.ts), whose score before the first student
   * is 1 / labels: classification, the task's labels (chance); extractive QA, Infinity (score 0:
   * no answer is no exact match; one label ["answer"] would make it 100%).
   */
  chanceLabels(taskLabels: number): number;
}

export const CLASSIFICATION_METRICS: MetricNames = {
  acc: 'acc',
  accuracy: 'accuracy',
  accuracyLong: 'accuracy',
  f1: 'macro-F1',
  f1Long: 'macro-F1',
  chanceLabels: (taskLabels) => taskLabels,
};

export const QA_METRICS: MetricNames = {
  acc: 'EM',
  accuracy: 'EM',
  accuracyLong: 'SQuAD exact match (EM)',
  f1: 'F1',
  f1Long: 'SQuAD token F1',
  chanceLabels: () => Infinity,
};

/**
 * The metric names of an experiment's task kind, read from its results: QA results carry
 * `exactMatch` (tasks/qa.ts `score`), classification results do not.
 * @returns QA_METRICS when any result's test scores have `exactMatch`, else CLASSIFICATION_METRICS
 */
export function metricNamesOf(summary: Pick<ExperimentSummary, 'results'>): MetricNames {
  return summary.results.some((r) => r.test?.exactMatch !== undefined) ? QA_METRICS : CLASSIFICATION_METRICS;
}
