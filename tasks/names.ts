/**
 * The names of the task kinds (config `task.kind`). A module of its own, without imports, so
 * that the configuration schema can list them without loading the strategies.
 * Pure module.
 */

/** 'single' = single-text classification; 'pair' = sentence-pair classification (NLI);
 * 'qa' = extractive question answering (SQuAD-style rows, S3's AdversarialQA). */
export const TASK_KIND_NAMES = ['single', 'pair', 'qa'] as const;
export type TaskKindName = (typeof TASK_KIND_NAMES)[number];
