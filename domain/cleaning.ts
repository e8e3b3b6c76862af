/**
 * Cleaning and judging of raw teacher outputs (S3 §3: synthetic examples are filtered
 * before they are added). Small instruction models wrap what was asked for in chat
 * boilerplate ("Sure! Here is a review:", "I hope this helps!"), quotes and markdown, copy
 * the example they were shown, or repeat themselves; this module turns a raw reply into
 * the example text, or a reason to reject it.
 *
 * Pure module: no I/O, no clocks, no randomness.
 */

/** Why an output was not kept. */
export type RejectReason = 'empty' | 'too_short' | 'copy_of_prompt_example' | 'duplicate';
export type Verdict = { ok: true } | { ok: false; reason: RejectReason };

/** Default `minChars` of `judgeOutput`. */
export const MIN_CHARS = 10;

const SPECIAL_TOKENS = /<\|[^|<>\n]{0,40}\|>|<\/?s>|\[\/?INST\]|<<\/?SYS>>/g;
const ROLE_PREFIX = /^\s*(?:assistant|ai|bot)\s*(?::|\n)\s*/i;
const FENCE_LINE = /^[ \t]*```.*$/gm;
const RULE_LINE = /^[ \t]*(?:-{3,}|\*{3,}|_{3,}|={3,})[ \t]*$/gm;
const HEADING = /^[ \t]*#{1,6}[ \t]+/gm;
const BOLD = /(\*\*|__)(?=\S)([\s\S]*?\S)\1/g;
const ITALIC = /(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/g;

/** "Sure!", "Certainly,", "Of course.", "Here you go:" … at the very start. */
const OPENER =
  /^(?:sure(?: thing)?|certainly|of course|absolutely|okay|ok|alright|great(?: question)?|here (?:it is|you go|you are)|here(?:['’]s| is) one)\s*[!,.:]+\s*/i;
/** "I'd be happy to help!" and similar first sentences. */
const HAPPY = /^i(?:['’]d| would| am|['’]m) (?:be )?(?:happy|glad|delighted)\b[^.!?\n]{0,80}[.!?]+\s*/i;
/** What an intro announces ("… a positive review:", "… re-write of the original message."). */
const INTRO_NOUN =
  'review|e-?mail|example|text|message|sentence|version|response|rewrite|re-write|draft|hypothesis|tweet|post|output|letter|statement';
/** "Here is a positive review:", "Here's an e-mail that is spam.", "Below is …" up to its ':', '.', '!' or line end. */
const HERE_IS = new RegExp(
  `^(?:here(?:['’]s| is| are)|below (?:is|are)|the following is|i(?:['’]ve| have) (?:written|created|drafted))\\b[^:.!?\\n]{0,120}?\\b(?:${INTRO_NOUN})s?\\b[^:.!?\\n]{0,80}(?::|[.!](?=\\s)|\\n)\\s*`,
  'i',
);

/**
 * Leading labels removed: generic names of the requested item ("Review:", "E-mail:",
 * "Hypothesis:", "Output:", "New example 2:" …, or such a name alone on the first line, as left
 * by a markdown heading "### Review"). "Subject:" is deliberately kept: an e-mail
 * subject line is content (spam subjects are among the most telling features).
 */
const LABEL =
  /^(?:(?:new|rewritten|synthetic|generated|positive|negative|your|my|the|a|an)\s+)?(?:movie\s+|product\s+|customer\s+)?(?:review|text|e-?mail|email body|body|message|example|output|answer|response|sentence|hypothesis|statement|premise|tweet|post|comment)(?:\s*#?\d+)?(?:\s*:|[ \t]*\n)\s*/i;

/** Start of a trailing chat tail: everything from here on is cut. */
const TAIL =
  /(?:^|(?<=[.!?)"”]\s{0,3})|\n)\s*\(?\s*(?:note\s*:|note that\b|disclaimer\s*:|p\.?s\.? this (?:review|e-?mail|text)|i hope (?:this|that|these|it) (?:helps|meets|fits|works|is what|gives)|hope (?:this|that) helps|i hope you (?:find|like|enjoy) (?:this|it)|is there anything else|feel free to (?:ask|let me know|modify|adjust|customi[sz]e|change|use)|let me know if you(?:'d| would)? (?:like|need|want) (?:me to|any|another|more|a different)|(?:this|the above) (?:review|e-?mail|example|text|sentence|message) (?:is|was) (?:written|designed|meant|intended|an example|fictional|generated))/i;

const QUOTE_PAIRS: Record<string, string> = { '"': '"', "'": "'", '“': '”', '‘': '’', '«': '»', '„': '“', '`': '`' };

/**
 * Turns a raw teacher reply into the example text:
 * - removes leaked chat-template tokens (`<|im_end|>`, `</s>`, `[INST]`) and a leading role name
 * - removes markdown code-fence lines, horizontal rules, heading markers and bold markers (`**x**`, `__x__`)
 * - strips leading chat boilerplate ("Sure!", "Certainly,", "I'd be happy to help.",
 *   "Here's a spam e-mail:" up to its colon, a first line "Here is a positive review.")
 * - strips a leading generic label ("Review:", "E-mail:", "Hypothesis:" …; "Subject:" is kept)
 * - cuts trailing tails ("Note: …", "I hope this helps!", "Feel free to modify …", "This
 *   review is fictional …") from where they start to the end
 * - strips quotes around the whole text ("…", '…', “…”, «…»)
 * - collapses all whitespace (newlines included) to single spaces and trims
 * These steps repeat until nothing changes (e.g. `Sure! Review: "Great."` → `Great.`).
 * @param raw the reply text as generated
 * @returns the cleaned text, possibly '' (which `judgeOutput` rejects as empty)
 */
export function cleanOutput(raw: string): string {
  let s = raw
    .replace(/\r\n?/g, '\n')
    .replace(SPECIAL_TOKENS, ' ')
    .replace(FENCE_LINE, '')
    .replace(RULE_LINE, '')
    .replace(HEADING, '')
    .replace(BOLD, '$2')
    .replace(ITALIC, '$1')
    .replace(/\*\*/g, '');
  for (let pass = 0; pass < 5; pass++) {
    const before = s;
    s = s.trim().replace(ROLE_PREFIX, '').replace(OPENER, '').replace(HAPPY, '');
    s = s.replace(HERE_IS, '').replace(LABEL, '');
    const tail = TAIL.exec(s);
    if (tail) s = s.slice(0, tail.index);
    s = stripQuotes(s.trim());
    if (s === before) break;
  }
  return s.replace(/\s+/g, ' ').trim();
}

function stripQuotes(s: string): string {
  const close = QUOTE_PAIRS[s[0]];
  if (s.length < 2 || close === undefined || s[s.length - 1] !== close) return s;
  const inner = s.slice(1, -1);
  if (inner.includes(s[0]) || inner.includes(close)) return s; // `"a" and "b"`: not one quoted text
  return inner.trim();
}

/**
 * The comparison form of a text for copy and duplicate checks: Unicode NFKC, lowercase,
 * punctuation and symbols replaced by spaces, whitespace collapsed, trimmed.
 * E.g. `"Great  movie!!"` and `great movie` compare equal.
 */
export function normalizeForCompare(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Decides whether a cleaned output is kept. Checks, in order:
 * 1. `empty`: nothing but whitespace, punctuation or symbols
 * 2. `too_short`: fewer than `minChars` characters (default MIN_CHARS = 10)
 * 3. `copy_of_prompt_example`: equal to the example shown in the prompt (compared with
 *    `normalizeForCompare`), one containing the other at >= 80 % of the length, or the same
 *    word set at >= 90 % Jaccard overlap (both with >= 5 words)
 * 4. `duplicate`: `normalizeForCompare(cleaned)` is in `seen`
 * Does not modify `seen`: the caller adds `normalizeForCompare(cleaned)` for kept outputs.
 * @param cleaned the output of `cleanOutput`
 * @param opts.seen comparison forms of the texts already kept (and of any texts to avoid)
 */
export function judgeOutput(
  cleaned: string,
  opts: { promptExample?: string; seen: ReadonlySet<string>; minChars?: number },
): Verdict {
  const norm = normalizeForCompare(cleaned);
  if (!norm) return { ok: false, reason: 'empty' };
  if (cleaned.trim().length < (opts.minChars ?? MIN_CHARS)) return { ok: false, reason: 'too_short' };
  if (opts.promptExample !== undefined && isCopy(norm, normalizeForCompare(opts.promptExample)))
    return { ok: false, reason: 'copy_of_prompt_example' };
  if (opts.seen.has(norm)) return { ok: false, reason: 'duplicate' };
  return { ok: true };
}

function isCopy(out: string, example: string): boolean {
  if (!example) return false;
  if (out === example) return true;
  const [short, long] = out.length <= example.length ? [out, example] : [example, out];
  if (long.includes(short) && short.length >= 0.8 * long.length) return true;
  const a = new Set(out.split(' '));
  const b = new Set(example.split(' '));
  if (a.size < 5 || b.size < 5) return false;
  let shared = 0;
  for (const w of a) if (b.has(w)) shared++;
  return shared / (a.size + b.size - shared) >= 0.9;
}

/** A list item: "1." "1)" "(1)" "1:" "-" "*" "•" "a)" "Reason 1:", then the item text. */
const ITEM = /^\s*(?:\(?\d{1,2}[.):]|\(?[a-e]\)|[-*•·–]|(?:reason|rationale)\s*#?\d{1,2}\s*[.:)-]?)\s+(.*)$/i;
/** Intro/outro lines that are not rationales ("Here are 5 reasons:", "Sure!"). */
const INTRO =
  /^(?:sure|certainly|of course|okay|ok|absolutely|great|here(?:'s| is| are)|below|the following|these are|i(?:'d| would| am|'m) (?:be )?(?:happy|glad))\b|:\s*$/i;
const MAX_RATIONALE_CHARS = 300;

/**
 * Parses a teacher answer to T_ration (S3 Alg. 1 line 2: "list K reasons why …") into
 * at most `k` distinct rationales, in the order given.
 * - numbered ("1." "2)" "(3)"), bulleted ("-" "*" "•") or "Reason 1:" items are taken; a
 *   line right below an item (no blank line between) continues it; other lines (intros like
 *   "Here are 5 reasons:", closing remarks) are dropped
 * - without any list marker, each non-intro line is a rationale, except that a single line of
 *   several sentences is prose, not a list, and gives none
 * - each item is cleaned (markdown, quotes, whitespace) and loses its trailing `.;,:`; items
 *   under 3 or over 300 characters are dropped, as is a last item cut off mid-sentence (no
 *   final punctuation while the other items have it, or over 12 words without it), and
 *   duplicates (`normalizeForCompare`)
 * @param raw the reply text as generated
 * @param k the most rationales wanted (>= 0)
 * @returns 0..k rationale strings
 */
export function parseRationales(raw: string, k: number): string[] {
  const lines = splitInlineList(raw.replace(/\r\n?/g, '\n').replace(SPECIAL_TOKENS, ' ')).split('\n');
  let items = listItems(lines);
  if (!items.length) {
    items = lines.map((l) => l.trim()).filter((l) => l && !INTRO.test(l));
    if (items.length === 1 && sentences(items[0]) > 1) items = []; // a paragraph of prose, not a list
  }
  items = items.map((s) => s.replace(/\s+/g, ' ').trim()).filter(Boolean);
  if (items.length && looksCutOff(items)) items.pop();
  const out: string[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    if (out.length >= k) break;
    const r = cleanOutput(item.replace(/^(?:reason|rationale)\s*#?\d{1,2}\s*[.:)-]\s*/i, '')).replace(/[\s.;,:]+$/, '');
    const norm = normalizeForCompare(r);
    if (r.length < 3 || r.length > MAX_RATIONALE_CHARS || !norm || seen.has(norm)) continue;
    seen.add(norm);
    out.push(r);
  }
  return out;
}

function sentences(s: string): number {
  return s.split(/[.!?]+(?:\s+|$)/).filter((x) => x.trim()).length;
}

/** The last item ends mid-sentence (reply cut by maxTokens): no final punctuation while the
 * other items have it, or more than 12 words without it. */
function looksCutOff(items: string[]): boolean {
  const ends = (s: string) => /[.!?)"'”]$/.test(s);
  const last = items[items.length - 1];
  if (ends(last)) return false;
  const others = items.slice(0, -1);
  return (others.length > 0 && others.every(ends)) || last.split(' ').length > 12;
}

/** "1. a 2. b 3. c" on one line → one item per line. */
function splitInlineList(s: string): string {
  return s
    .split('\n')
    .map((line) =>
      /^\s*1[.)]\s/.test(line) && /\s2[.)]\s/.test(line) ? line.replace(/\s+(?=\d{1,2}[.)]\s)/g, '\n') : line,
    )
    .join('\n');
}

function listItems(lines: string[]): string[] {
  const items: string[] = [];
  let open = false; // the previous line belongs to an item
  for (const line of lines) {
    const m = ITEM.exec(line);
    if (m) {
      items.push(m[1]);
      open = true;
    } else if (!line.trim()) {
      open = false;
    } else if (open) {
      items[items.length - 1] += ` ${line.trim()}`;
    }
  }
  return items;
}
