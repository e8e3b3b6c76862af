/**
 * studyQuality: the S3 data-quality study of one arm on one seed (Wang et al. 2023) —
 * Table 6 (§3.6: misclassified gold validation example → the example EES wrote from it) and
 * Table 8 (App. C.1: coverage of the gold test points by the synthetic points in a 2-D map).
 * The numbers are computed by quality/study.ts, the map by quality/map.ts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { S3Config } from '../config/schema.js';
import type { QualityStudy } from '../domain/experiment.js';
import { Rng } from '../domain/rng.js';
import { ExampleSchema, ProvenanceSchema, type DatasetRef } from '../domain/types.js';
import { projectUmap, seededSubsample, tfidfProjection, TFIDF_FEATURES } from '../quality/map.js';
import { chooseGamma, coverage, pairStats, type Point, type QualityPair, type Vector } from '../quality/study.js';
import { FrozenEncoder } from '../student/encoder.js';
import { TfidfVectorizer } from '../student/tfidf.js';
import { taskKindOf } from '../tasks/index.js';
import type { TaskRefs } from './prepare.js';
import { invalidInput, runActivity } from './context.js';
import type { StoreDeps } from './deps.js';
import { DEFAULT_ENCODER, embeddingCacheOf, folderStore, runArtifacts, studentConfigOf } from './paths.js';

/** At most this many gold test points in a map (seeded subsample, the same for every arm of a seed). */
export const MAP_MAX_GOLD = 1000;
/** At most this many synthetic points in a map; also never more than the gold points mapped
 * (S3 App. C.1 step 1: "uniformly sample a similar amount of data" from each set). */
export const MAP_MAX_SYNTHETIC = 1000;

/** A row of the arm's final training set: synthetic examples carry provenance; gold rows
 * mixed in by some arms (e.g. s3+gold-validation) do not, and are left out of the study. */
const TrainRowSchema = ExampleSchema.extend({ provenance: ProvenanceSchema.optional() });

/** A row of map.jsonl. */
import { MapRowSchema, type MapRow } from '../domain/experiment.js';
export { MapRowSchema, type MapRow };

/** Which features the study uses: "auto" (default) = the encoder when the student is
 * encoder-logreg or the default encoder is installed, else TF-IDF; or one of them forced. */
export type QualityFeatures = 'auto' | 'encoder' | 'tfidf';

/** The encoder folder to use, or null for TF-IDF. */
function encoderOf(config: S3Config, features: QualityFeatures): string | null {
  if (features === 'tfidf') return null;
  const s = studentConfigOf(config);
  if (s.kind === 'encoder-logreg') return s.encoderPath!;
  if (features === 'encoder' || existsSync(path.join(DEFAULT_ENCODER, 'onnx', 'model.onnx'))) return DEFAULT_ENCODER;
  return null;
}

/**
 * The data-quality study of one arm on one seed.
 *
 * Reads `dataset` (the arm's final training set, JSONL of SyntheticExample; rows without
 * provenance are gold rows and are skipped), the gold validation set (the misclassified
 * originals, by `provenance.misclassifiedId`) and the gold test set of `task`, then:
 * - Table 6 over the EES pairs (origin "ees" with a misclassifiedId found in validation):
 *   cosine of the two embeddings, character edit distance, mean lengths in words, on the task
 *   kind's `similarityText` (a pair's `text_pair`, the synthesized sentence). Embeddings: the
 *   encoder's, or with TF-IDF features the full sparse TF-IDF rows of a vectorizer fitted on
 *   the pair texts (gold ∪ written) — a lexical, not semantic, similarity.
 * - Table 8: a map of ≤ MAP_MAX_GOLD gold test points (seeded subsample, stream
 *   "quality:gold-test", the same for every arm of a seed) and ≤ min(MAP_MAX_SYNTHETIC, gold
 *   points mapped) synthetic points (stream "quality:synthetic"); text of a point: the task
 *   kind's `mapText` (`text`, or `text + ' ' + text_pair` for pairs). Features: the encoder,
 *   else TF-IDF fitted on the mapped texts + seeded random projection to 256 dims
 *   (quality/map.ts); UMAP seeded with `seed`; γ by chooseGamma (gold points only); share = coverage(gold, synthetic, γ), 0
 *   without synthetic points.
 * Writes the map to `<outDir>/map.jsonl`, one {x, y, set: "gold-test" | "synthetic", label}
 * per point, gold points first.
 * @param input.features "auto" (default), or force "encoder" / "tfidf"
 * @returns QualityStudy (domain/experiment.ts)
 * @throws ApplicationFailure InvalidInput (through runActivity/guard) when a file is missing or
 *   malformed, the gold test set has fewer than 2 examples, or the map would have fewer than
 *   3 points; the encoder's errors when its model folder is incomplete
 */
export async function studyQuality(
  input: {
    config: S3Config;
    task: TaskRefs;
    arm: string;
    seed: number;
    dataset: DatasetRef;
    /** the folder map.jsonl goes to (the workflow passes `<runDir>/quality`) */
    outDir: string;
    features?: QualityFeatures;
  },
  deps: StoreDeps = {},
): Promise<QualityStudy> {
  const { config, task, arm, seed } = input;
  const beat: Record<string, unknown> = { phase: 'read', arm, seed };
  return runActivity(
    config,
    () => beat,
    async () => {
      const { store } = runArtifacts(deps, config);
      const rows = await store.getJsonl(input.dataset, TrainRowSchema, { allowEmpty: true });
      const validation = await store.getJsonl(task.validation, ExampleSchema, { allowEmpty: true });
      const test = await store.getJsonl(task.test, ExampleSchema, { allowEmpty: true });
      if (test.length < 2)
        throw invalidInput(
          `quality study of ${arm}: the gold test set has ${test.length} example(s), at least 2 needed`,
        );

      // what a written example is compared by (a pair's sentence) and mapped by (both parts)
      const { similarityText: simText, mapText } = taskKindOf(config.task);
      const synthetic = rows.filter((r) => r.provenance !== undefined);
      const byId = new Map(validation.map((v) => [v.id, v]));
      const ees = synthetic.flatMap((r) => {
        const gold =
          r.provenance?.origin === 'ees' && r.provenance.misclassifiedId
            ? byId.get(r.provenance.misclassifiedId)
            : undefined;
        return gold ? [{ gold: simText(gold), synthetic: simText(r) }] : [];
      });

      const encoderPath = encoderOf(config, input.features ?? 'auto');
      if (encoderPath && !existsSync(path.join(encoderPath, 'onnx', 'model.onnx')))
        throw invalidInput(
          `quality study of ${arm}: encoder not found: ${path.join(encoderPath, 'onnx', 'model.onnx')} (run \`S3_ENCODER=1 bash scripts/setup.sh\`, or use TF-IDF features)`,
        );
      const encoder = encoderPath ? new FrozenEncoder(encoderPath, embeddingCacheOf(deps, config)) : null;
      const features = encoder
        ? `encoder ${path.basename(encoder.modelPath)} (mean-pooled, L2-normalised)`
        : `${TFIDF_FEATURES} (L2-normalised; Table 6 cosine on the full TF-IDF rows)`;

      // Table 6
      beat.phase = 'pairs';
      beat.pairs = ees.length;
      let pairs: QualityPair[] = [];
      if (ees.length > 0) {
        let goldVecs: Vector[];
        let synVecs: Vector[];
        if (encoder) {
          goldVecs = await encoder.embed(ees.map((p) => p.gold));
          synVecs = await encoder.embed(ees.map((p) => p.synthetic));
        } else {
          const tfidf = new TfidfVectorizer();
          const all = tfidf.fitTransform([
            ...ees.map((p) => ({ text: p.gold })),
            ...ees.map((p) => ({ text: p.synthetic })),
          ]);
          goldVecs = all.slice(0, ees.length);
          synVecs = all.slice(ees.length);
        }
        pairs = ees.map((p, i) => ({ ...p, goldVec: goldVecs[i], synVec: synVecs[i] }));
      }
      const t6 = pairStats(pairs);

      // Table 8
      const goldPts = seededSubsample(test, MAP_MAX_GOLD, new Rng(seed, 'quality:gold-test'));
      const synPts = seededSubsample(
        synthetic,
        Math.min(MAP_MAX_SYNTHETIC, goldPts.length),
        new Rng(seed, 'quality:synthetic'),
      );
      const points = [...goldPts, ...synPts];
      if (points.length < 3)
        throw invalidInput(`quality study of ${arm}: the map would have ${points.length} point(s), at least 3 needed`);
      Object.assign(beat, { phase: 'features', gold: goldPts.length, synthetic: synPts.length });
      const texts = points.map(mapText);
      const vectors = encoder ? (await encoder.embed(texts)).map((v) => Array.from(v)) : tfidfProjection(texts, seed);
      beat.phase = 'umap';
      const xy = await projectUmap(vectors, seed, {
        onProgress: (epoch, total) => Object.assign(beat, { epoch, epochs: total }),
      });
      const gold: Point[] = xy.slice(0, goldPts.length);
      const syn: Point[] = xy.slice(goldPts.length);
      const { gamma, rule } = chooseGamma(gold);
      const share = coverage(gold, syn, gamma);

      beat.phase = 'write';
      const mapRows: MapRow[] = points.map((x, i) => ({
        x: xy[i][0],
        y: xy[i][1],
        set: i < goldPts.length ? 'gold-test' : 'synthetic',
        label: x.label,
      }));
      const map = await folderStore(deps, input.outDir, config.artifacts).putJsonl('map.jsonl', mapRows);
      return {
        arm,
        seed,
        features,
        pairs: {
          count: t6.count,
          cosine: t6.cosine,
          editDistance: t6.editDistance,
          goldWords: t6.goldWords,
          syntheticWords: t6.syntheticWords,
        },
        coverage: { gamma, gammaRule: rule, share },
        map,
      };
    },
  );
}
