/**
 * `teacher-judge`: the teacher rates how hard each candidate is to classify, 1 (easy) … 5
 * (hard), and the B hardest are picked. The costly, LLM-specific kind of selector that Kessler
 * et al. 2025 (arXiv 2512.00884) report simple student-based rules to beat: its rating calls
 * count against the teacher budget like any other call (activities: judgeDifficulty).
 *
 * Score: the rating (1–5). Items without a rating (unparsable answer, or not asked because the
 * budget ran out) are skipped. Order: highest rating first, ties by id ascending.
 *
 * Pure module: the ratings arrive in `input.judgeScores`.
 */
import type { AcquisitionFunction, AcquisitionInput, Pick } from './types.js';
import { topByScore } from './types.js';

/**
 * Reads a 1–5 rating from a teacher's answer: the first digit 1–5 that stands alone
 * ("4", "Rating: 4/5", "I would say 3."), else null.
 * @returns the rating, or null when the answer has none
 */
export function parseRating(answer: string): number | null {
  const m = /(?:^|[^0-9])([1-5])(?![0-9])/.exec(answer);
  return m ? Number(m[1]) : null;
}

/**
 * Picks the B candidates the teacher rated hardest.
 * @param input ids, judgeScores (null = skip), batch
 * @returns min(B, #rated) picks; score = the rating
 * @throws RangeError when judgeScores is missing or has the wrong length
 */
export function pickTeacherJudge(input: AcquisitionInput): Pick[] {
  const r = input.judgeScores;
  if (!r || r.length !== input.ids.length)
    throw new RangeError(`teacher-judge: judgeScores must give one rating (or null) per pool item`);
  return topByScore(input.ids, r, input.batch);
}

/** Registry entry of {@link pickTeacherJudge}. */
export const teacherJudge: AcquisitionFunction = {
  name: 'teacher-judge',
  needsFeatures: false,
  needsLabels: false,
  source: 'Kessler et al. 2025 (arXiv 2512.00884): an LLM-specific selector; the teacher rates difficulty 1-5',
  pick: pickTeacherJudge,
};
