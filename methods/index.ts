/**
 * The registry of synthesis methods: one module each, looked up by the arm's `method`. A new
 * method is its module, its name in methods/names.ts and its entry here (the type below
 * requires one `Method` per name).
 * Pure module (imported by workflows).
 */
import { active } from './active.js';
import { gold, goldAll, goldValidation, s3PlusGoldValidation } from './gold.js';
import { goldgen } from './goldgen.js';
import { noRationales } from './noRationales.js';
import { progen } from './progen.js';
import { s3 } from './s3.js';
import { s3Demos } from './s3Demos.js';
import { seedOnly } from './seedOnly.js';
import type { MethodName } from './names.js';
import type { Method } from './types.js';
import { zerogen } from './zerogen.js';

export { METHOD_NAMES, type MethodName } from './names.js';
export type { ArmSteps, Method, TrainedRound } from './types.js';

export const METHODS: Readonly<Record<MethodName, Method>> = {
  s3,
  's3-demos': s3Demos,
  zerogen,
  'seed-only': seedOnly,
  'no-rationales': noRationales,
  goldgen,
  progen,
  active,
  gold,
  'gold-all': goldAll,
  'gold-validation': goldValidation,
  's3+gold-validation': s3PlusGoldValidation,
};

/** k: the demonstrations every seed prompt of a run shows (synthesis.seedDemos, else the
 * method's default: 2 for s3-demos, 0 for the others). */
export function seedDemosOf(config: { method: MethodName; synthesis: { seedDemos?: number } }): number {
  return config.synthesis.seedDemos ?? METHODS[config.method].seedDemos ?? 0;
}
