/**
 * What a synthesis method can do inside one arm's child workflow. A method (one module per
 * method in this folder) is a short deterministic script over these steps; the child workflow
 * (workflows/synthesisArm.ts) implements them with activities, keeps the training set, the
 * rounds and the budget, and records everything for the report.
 *
 * Budget units: every `limit`/`left()` is in the experiment budget's unit — synthetic
 * examples, or teacher tokens (prompt + completion).
 *
 * Pure module (types only): imported by workflows.
 */
import type { ArmConfig } from '../config/experiment.js';
import type { Budget, MethodName } from '../domain/experiment.js';
import type { DatasetRef } from '../domain/types.js';

/** A trained student as methods see it (S3 Alg. 2 lines 3-6). */
export interface TrainedRound {
  round: number;
  validationAccuracy: number;
  /** the gold validation examples chosen for extrapolation (misclassified ones, or all with
   * `all`), capped by synthesis.maxPerRound and by the examples budget left; JSONL of MisclassifiedRow */
  toExtrapolate: DatasetRef;
  /** why EES should stop now (no misclassified example, plateau under synthesis.epsilon), or null */
  converged: string | null;
}

export interface ArmSteps {
  readonly options: ArmConfig;
  /** the experiment's budget, or null in a single run (sizes from the config: N_seed =
   * synthesis.seedSize, every misclassified example; an optional teacher-token cap) */
  readonly budget: Budget | null;
  /** R: the configured number of rounds (synthesis.rounds) */
  readonly rounds: number;
  /** budget units left (≤ 0: spent; Infinity: a single run without a token cap) */
  left(): number;
  /** `share` of the budget in its units, the amount a method's seed data may reach; a single
   * run: N_seed = synthesis.seedSize examples whatever the share (S3 Alg. 1 line 4) */
  portion(share: number): number;
  /** why the loop stops now for the budget (examples or tokens left ≤ 0), or null */
  budgetStop(): string | null;
  /** records why the loop stopped early (the first reason given is kept) */
  stop(reason: string): void;
  /** Alg. 1 lines 1-2: K rationales per label (skipped by plain-prompt methods) */
  rationales(): Promise<void>;
  /** Alg. 1 lines 3-8: seed data (or, with `icl`, a ProGen round's data) until the arm has
   * spent `limit` budget units in total; continues the seeded sequence of seed prompts */
  seed(limit: number, icl?: { ref: DatasetRef; round: number }): Promise<void>;
  /** Alg. 2 lines 3-6: train the student on everything so far and score it; `all` hands every
   * validation example to extrapolation (GoldGen) instead of the misclassified ones; `batch`
   * caps how many pool items the acquisition function picks (synthesis.acquisition); `ranked`
   * has it rank every eligible pool item instead, best first (token budgets: the teacher
   * expands them in that order until the round's tokens are spent) */
  train(round: number, opts?: { all?: boolean; batch?: number; ranked?: boolean }): Promise<TrainedRound>;
  /** Alg. 2 lines 7-10 (Alg. 3 for pairs): one new example per row, in row order, within the
   * budget left and, with `tokens`, within this round's share of a token budget (teacher-judge:
   * half of it rates candidates, the rest expands the hardest rated) */
  extrapolate(round: number, rows: DatasetRef, opts?: { tokens?: number }): Promise<void>;
  /** ProGen: the topK most helpful synthetic examples by influence on the gold-validation loss */
  influence(round: number, topK: number): Promise<DatasetRef>;
  /** human-labeled training data: `n` gold train examples ("all": the whole split), or the
   * gold validation set itself (then validation scores are not reported) */
  useGold(which: { train: number | 'all' } | 'validation'): Promise<void>;
  /** fills the budget up with extra seed batches when it is not met (rejections, early EES
   * stop), then trains the final student if the training set changed since the last one */
  finish(): Promise<void>;
}

/** One synthesis method (one module each): its script over the steps and everything else
 * that makes it what it is, so no other file has to know about it. */
export interface Method {
  name: MethodName;
  /** where it comes from, e.g. "S3 Alg. 1-3 (Wang et al. 2023)" */
  source: string;
  /** which prompts it uses, what it selects, when it stops */
  summary: string;
  /** whether it calls the teacher (gold arms do not) */
  usesTeacher: boolean;
  /** its seed prompts list rationales (T_ration + T_query, S3 Alg. 1) rather than the plain
   * label-conditioned prompt (ZeroGen-style); synthesis.useRationales false turns them off for all */
  rationales: boolean;
  /** its picks follow the acquisition options (synthesis.acquisition, pool, validationHoldout,
   * candidatesPerPick: an arm's own or the config's); otherwise S3's rule on gold validation */
  ownAcquisition: boolean;
  /** the data-quality study (S3 Tables 6 and 8) looks at its data in an experiment */
  qualityStudy: boolean;
  /** it needs an experiment's budget (a single run cannot size it) */
  needsBudget: boolean;
  /** gold validation examples of the asked label its seed prompts show when
   * synthesis.seedDemos is unset (s3-demos: 2; absent: none) */
  seedDemos?: number;
  run(arm: ArmSteps): Promise<void>;
}
