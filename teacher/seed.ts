/** Deterministic sampling seeds for teacher calls. */
import { createHash } from 'node:crypto';
import type { TeacherCall } from './types.js';

/**
 * The sampling seed of one call: the first 31 bits of sha256(JSON [prompt, sampleIndex]).
 * Same call => same seed on every machine and every retry; different `sampleIndex` =>
 * (almost surely) a different seed, so repeated samples of one prompt differ.
 * @returns an integer in [0, 2^31 - 1] (fits the `seed` of OpenAI-compatible APIs and llama.cpp)
 */
export function callSeed(call: TeacherCall): number {
  const digest = createHash('sha256')
    .update(JSON.stringify([call.prompt, call.sampleIndex]))
    .digest();
  return digest.readUInt32BE(0) >>> 1;
}
