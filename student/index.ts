/**
 * The student classifier of S3: features (TF-IDF n-grams, or a frozen transformers.js encoder)
 * followed by a multinomial logistic-regression head that is re-initialised and trained from
 * scratch on every call of fit (S3 Alg. 2 lines 3-5: "initialise and train the student on
 * D_train").
 *
 * - 'tfidf-logreg': ./tfidf.ts vocabulary + idf fit on the training examples only.
 * - 'encoder-logreg': ./encoder.ts embeddings (cached across rounds), [u, v, |u−v|, u∘v] for pairs.
 * The head is ./logreg.ts with cfg.l2 (on the mean loss) and cfg.maxIter L-BFGS iterations.
 * Every `text` and `text_pair` is cut to its first cfg.maxChars characters first.
 */
import type { S3Config } from '../config/schema.js';
import type { Example } from '../domain/types.js';
import type { FinetuneFit } from '../domain/studentContract.js';
import { FrozenEncoder, pairFeatures, type EmbeddingCacheLocation } from './encoder.js';
import { predictProba, trainLogRegAsync, type FeatureRow, type LogRegModel } from './logreg.js';
import { TfidfVectorizer } from './tfidf.js';

/** Student settings: the validated `student` section of the configuration. */
export type StudentConfig = S3Config['student'];

/** Summary of one fit. `loss`: final training objective (mean cross-entropy in nats + L2 term). */
export interface FitStats {
  trainSize: number;
  /** feature dimension (vocabulary size, or embedding size ×4 for pairs) */
  features: number;
  /** L-BFGS iterations done */
  iterations: number;
  loss: number;
  /** wall time of featurization + training, ms */
  ms: number;
  /** the finetune student's training (Python worker, workers/finetune): device, epochs, kept epoch */
  finetune?: FinetuneFit;
}

/** A trainable classifier over the examples of one task. */
export interface Student {
  /** re-initialise and train from scratch on examples (S3 Alg. 2 lines 3-5); labels fixes the class order */
  fit(examples: Example[], labels: string[]): Promise<FitStats>;
  /** class probabilities, rows aligned with examples, columns in the `labels` order given to fit */
  predictProba(examples: Example[]): Promise<number[][]>;
  /**
   * The head's input rows for examples (truncated to cfg.maxChars, then featurized with what
   * fit learned: TF-IDF vocabulary + idf, or the frozen encoder), aligned with examples; for
   * the training examples these are the rows the head was trained on. Used by influence
   * scoring (student/influence.ts), which needs the head's own features.
   * @throws Error before fit, or if examples are pairs and the training data was not (or vice versa)
   */
  features(examples: Example[]): Promise<FeatureRow[]>;
  /**
   * The trained logistic-regression head (shared, not copied: do not mutate), in the `labels`
   * order given to fit; its objective used cfg.l2 on the mean loss.
   * @throws Error before fit
   */
  head(): LogRegModel;
}

/** Turns examples into feature rows; `fit` may learn from the training examples. */
interface Featurizer {
  fit(xs: Example[]): Promise<{ rows: FeatureRow[]; dim: number }>;
  transform(xs: Example[]): Promise<FeatureRow[]>;
}

class TfidfFeaturizer implements Featurizer {
  private vec = new TfidfVectorizer();
  async fit(xs: Example[]) {
    this.vec = new TfidfVectorizer();
    const rows = await this.vec.fitTransformAsync(xs);
    return { rows, dim: this.vec.numFeatures };
  }
  async transform(xs: Example[]) {
    return this.vec.transform(xs);
  }
}

class EncoderFeaturizer implements Featurizer {
  constructor(private readonly enc: FrozenEncoder) {}
  async fit(xs: Example[]) {
    const rows = await this.transform(xs);
    return { rows, dim: rows[0].length };
  }
  async transform(xs: Example[]) {
    const texts = xs.flatMap((x) => (x.text_pair === undefined ? [x.text] : [x.text, x.text_pair]));
    const vecs = await this.enc.embed(texts);
    let p = 0;
    return xs.map((x) => (x.text_pair === undefined ? vecs[p++] : pairFeatures(vecs[p++], vecs[p++])));
  }
}

class LogRegStudent implements Student {
  private model: LogRegModel | null = null;
  private pairs: boolean | null = null;

  constructor(
    private readonly cfg: StudentConfig,
    private readonly featurizer: Featurizer,
  ) {}

  private truncate(xs: Example[]): Example[] {
    const n = this.cfg.maxChars;
    return xs.map((x) => ({
      ...x,
      text: x.text.slice(0, n),
      ...(x.text_pair === undefined ? {} : { text_pair: x.text_pair.slice(0, n) }),
    }));
  }

  async fit(examples: Example[], labels: string[]): Promise<FitStats> {
    const t0 = performance.now();
    if (examples.length === 0) throw new Error('student.fit: no training examples');
    if (labels.length < 2 || new Set(labels).size !== labels.length)
      throw new Error(`student.fit: labels must be at least 2 distinct strings, got ${JSON.stringify(labels)}`);
    const index = new Map(labels.map((l, i) => [l, i]));
    const y = examples.map((x) => {
      const c = index.get(x.label);
      if (c === undefined)
        throw new Error(`student.fit: example "${x.id}" has label "${x.label}", not one of ${JSON.stringify(labels)}`);
      return c;
    });
    const pairs = examples.filter((x) => x.text_pair !== undefined).length;
    if (pairs !== 0 && pairs !== examples.length)
      throw new Error(`student.fit: ${pairs} of ${examples.length} examples have text_pair; use all or none`);
    this.model = null;
    const { rows, dim } = await this.featurizer.fit(this.truncate(examples));
    const r = await trainLogRegAsync(rows, y, labels.length, dim, { l2: this.cfg.l2, maxIter: this.cfg.maxIter });
    this.model = r.model;
    this.pairs = pairs > 0;
    return {
      trainSize: examples.length,
      features: dim,
      iterations: r.iterations,
      loss: r.loss,
      ms: performance.now() - t0,
    };
  }

  async predictProba(examples: Example[]): Promise<number[][]> {
    if (!this.model) throw new Error('student.predictProba: call fit first');
    if (examples.length === 0) return [];
    return predictProba(this.model, await this.rowsOf(examples, 'predictProba'));
  }

  async features(examples: Example[]): Promise<FeatureRow[]> {
    if (!this.model) throw new Error('student.features: call fit first');
    if (examples.length === 0) return [];
    return this.rowsOf(examples, 'features');
  }

  head(): LogRegModel {
    if (!this.model) throw new Error('student.head: call fit first');
    return this.model;
  }

  /** Feature rows of examples with the fitted featurizer, after the pair-consistency check. */
  private async rowsOf(examples: Example[], caller: string): Promise<FeatureRow[]> {
    const bad = examples.find((x) => (x.text_pair !== undefined) !== this.pairs);
    if (bad)
      throw new Error(
        `student.${caller}: example "${bad.id}" is ${this.pairs ? 'not ' : ''}a pair, unlike the training data`,
      );
    return this.featurizer.transform(this.truncate(examples));
  }
}

/**
 * Creates an untrained student.
 * @param cfg the validated `student` configuration (kind, encoderPath, l2, maxIter, maxChars)
 * @param cache where the encoder-logreg student keeps its embeddings: `{ cacheDir }`, a local
 *   directory, or `{ store }`, an artifact store shared by workers (see student/encoder.ts);
 *   unused by the other kinds
 * @throws Error if kind is 'encoder-logreg' without encoderPath
 */
export function createStudent(cfg: StudentConfig, cache: EmbeddingCacheLocation): Student {
  if (cfg.kind === 'tfidf-logreg') return new LogRegStudent(cfg, new TfidfFeaturizer());
  if (cfg.kind === 'finetune')
    throw new Error(
      'createStudent: student.kind "finetune" is trained by the Python worker (workers/finetune, task queue ' +
        `"${cfg.finetune.taskQueue}") through trainAndEvaluate; it has no in-process TypeScript student`,
    );
  if (!cfg.encoderPath) throw new Error('createStudent: student.kind "encoder-logreg" needs student.encoderPath');
  return new LogRegStudent(cfg, new EncoderFeaturizer(new FrozenEncoder(cfg.encoderPath, cache)));
}
