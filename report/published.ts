/**
 * The "Published figures" part of the experiment report: for each arm named in the experiment
 * configuration's `published.arms`, this experiment's final test metric beside the figure
 * published elsewhere (for example the S3 paper's Table 2), with the source the configuration
 * gives. The published figures are text from the configuration, shown as written: they are
 * never parsed, subtracted or ranked, because they come from other conditions (model, teacher,
 * data size) that the source names.
 */
import { PublishedSchema, type Published } from '../config/experiment.js';
import type { ExperimentSummary } from '../domain/experiment.js';
import type { ArmSummaries } from '../domain/statistics.js';
import { CLASSIFICATION_METRICS, metricNamesOf } from './metrics.js';
import { fmtPct } from './resultsTable.js';

/** The part of a summary's configuration this section reads; null when absent or malformed
 * (an old summary, or a configuration without `published`). */
export function publishedOf(summary: Pick<ExperimentSummary, 'config'>): Published | null {
  const raw = (summary.config as { published?: unknown } | null)?.published;
  if (raw === undefined) return null;
  const parsed = PublishedSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/**
 * The section's table: head and one row per published arm, in the configuration's arm order.
 * @param summary the experiment (its `config.published`, its results)
 * @param stats armSummaries(summary, …) of the report
 * @returns null when the configuration publishes nothing; else `source`, `head` (["arm",
 *   "this experiment: test <metric>", "published"]) and `rows`. Classification shows test
 *   accuracy; extractive QA shows "EM / F1" (report/metrics.ts names). An arm with no finished
 *   seed shows "—".
 */
export function publishedTable(
  summary: ExperimentSummary,
  stats: ArmSummaries,
): { source: string; head: string[]; rows: string[][] } | null {
  const published = publishedOf(summary);
  if (!published) return null;
  const names = metricNamesOf(summary);
  const qa = names !== CLASSIFICATION_METRICS;
  const metric = qa ? `${names.acc} / ${names.f1}` : 'accuracy';
  const rows = summary.arms
    .filter((a) => published.arms[a.name] !== undefined)
    .map((a) => {
      const s = stats.arms.find((x) => x.arm === a.name);
      const ours = !s ? '—' : qa ? `${fmtPct(s.testAccuracy)} / ${fmtPct(s.testMacroF1)}` : fmtPct(s.testAccuracy);
      return [a.name, ours, published.arms[a.name]];
    });
  return { source: published.source, head: ['arm', `this experiment: test ${metric}`, 'published'], rows };
}
