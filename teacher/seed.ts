/** Deterministic sampling seeds for teacher calls. */
import { createHash } from 'node:crypto';
import type { TeacherCall } from './types.js';

/**
 * The sampling seed of one call: the first 31 bits of sha256(JSON [prompt, sampleIndex]), or of
 * JSON [prompt, sampleIndex, seed] when the call carries the run's seed.
 * Same call => same seed on every machine and every retry; a different `sampleIndex` or run
 * seed => (almost surely) a different sampling seed, so repeated samples of one prompt differ,
 * and so do the samples of runs (experiment seeds) that ask the same prompt.
 * @returns an integer in [0, 2^31 - 1] (fits the `seed` of OpenAI-compatible APIs and llama.cpp)
 */
export function callSeed(call: TeacherCall): number {
  const digest = createHash('sha256')
    .update(
      JSON.stringify(
        call.seed === undefined ? [call.prompt, call.sampleIndex] : [call.prompt, call.sampleIndex, call.seed],
      ),
    )
    .digest();
  return digest.readUInt32BE(0) >>> 1;
}
