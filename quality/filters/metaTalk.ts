/**
 * Instruction echo and meta-talk (issue 18 item 2): teacher outputs and rationales that talk
 * about the request instead of doing it. A small instruction model asked for "a normal (not
 * spam) email" often answers like a chat assistant ("I'm sorry for the misunderstanding. I'm
 * here to help …"), announces what it writes ("Here's a normal (not spam) email: …", "This is
 * an example of a spam email …"), repeats the prompt ("I just read an email that has …", "5
 * reasons that may lead to a normal email include …") or offers to edit the user's text. Such
 * outputs carry the label the teacher was asked for, but they are not examples of it, and a
 * student trained on them learns the teacher's voice.
 *
 * Every rule is a pattern with a name (the rejection reason is `metaTalk:<rule>`), kept here
 * and nowhere else. They are built for the task's item ("email") and label words ("normal
 * (not spam)") and tested on real outputs of the default teacher (SmolLM2-135M-Instruct) in
 * tests/fixtures/filters/. `cleanOutput` (domain/cleaning.ts) has already cut the chat
 * openers it can cut without losing content ("Sure! Here is a review:"); what is left and
 * still matches here talks about the request in its body.
 *
 * Pure module: no I/O.
 */

/** What the rules need to know about the task. */
export interface MetaTalkContext {
  /** what one example is, e.g. "email" (task.item) */
  item: string;
  /** the label words used in prompts, e.g. ["normal (not spam)", "spam"] */
  labelWords: string[];
}

/** One rule: its name and its pattern for a task. */
interface Rule {
  name: string;
  /** what it catches, with a real example */
  doc: string;
  pattern: (c: Compiled) => RegExp;
  /** applies to rationales too (rationales are short phrases: only the prompt echoes and
   * assistant talk are meta there) */
  rationales?: boolean;
}

interface Compiled {
  /** alternatives for the item: "email|e-mail|mail|message" */
  item: string;
  /** alternatives for a label word and its core ("normal (not spam)", "normal", "not spam", "spam") */
  label: string;
  /** the label words with a parenthesis ("normal (not spam)"): prompt wording no real example uses */
  verbatim: string;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Other words for an item ("email" → e-mail, mail, message). */
const ITEM_SYNONYMS: Record<string, string[]> = {
  email: ['e-mail', 'mail', 'message'],
  'e-mail': ['email', 'mail', 'message'],
  'movie review': ['review'],
  review: ['movie review'],
  text: ['message'],
  sentence: ['statement'],
};

function compile(c: MetaTalkContext): Compiled {
  const items = [c.item, ...(ITEM_SYNONYMS[c.item.toLowerCase()] ?? [])];
  const labels = new Set<string>();
  for (const w of c.labelWords) {
    labels.add(w);
    const core = w.replace(/\s*\([^)]*\)\s*/g, ' ').trim(); // "normal (not spam)" → "normal"
    if (core) labels.add(core);
    for (const m of w.matchAll(/\(([^)]+)\)/g)) labels.add(m[1].trim()); // → "not spam"
  }
  const alt = (xs: Iterable<string>) =>
    [...xs]
      .sort((a, b) => b.length - a.length)
      .map(esc)
      .join('|');
  return { item: alt(items), label: alt(labels), verbatim: alt(c.labelWords.filter((w) => w.includes('('))) };
}

const RULES: Rule[] = [
  {
    name: 'assistant',
    doc: `talks as an AI assistant: "as a text-based AI, I don't support emails", "I'm an AI designed to help you edit your text", "I'm here to help", "How can I assist you today?"`,
    pattern: () =>
      /\b(?:as an? (?:(?:[\w-]+ ){0,3}ai|chatbot|bot|language model|(?:ai |virtual )?assistant)\b|(?:help|assist) (?:you )?with (?:your|the|this) request\b|i(?:['’]m| am) (?:just )?(?:an? )?(?:(?:\w+[- ])?(?:based )?ai|chatbot|bot|machine|language model|(?:ai |virtual )?assistant)\b|i(?:['’]m| am) here to (?:help|assist|support)\b|how (?:can|may) i (?:help|assist) you\b|i(?:['’]d| would) be (?:more than )?(?:happy|glad) to (?:help|assist)\b|i(?:['’]m| am) more than (?:happy|glad) to (?:help|assist)\b|(?:help|assist) you (?:with )?(?:edit|refin|improv|rewrit|proofread)\w*|(?:edit|refine|improve|proofread)\w* your (?:writing|text|post|essay)\b)/i,
    rationales: true,
  },
  {
    name: 'apology',
    doc: `apologises like a chat assistant: "I'm sorry for the mistake. Here's …" (at the start), "… I'm sorry for the misunderstanding." (anywhere)`,
    pattern: () =>
      /^\W{0,3}(?:i(?:['’]m| am) (?:so |really |very |truly )?sorry|i apologi[sz]e|(?:my )?apologies|sorry)\b[^.!?\n]{0,40}\b(?:confusion|misunderstand\w*|misinterpret\w*|mistake|error|uncertainty)|\b(?:sorry|apologi[sz]e) for (?:the|any|my) (?:misunderstand\w*|misinterpret\w*|confusion)/i,
  },
  {
    name: 'announcement',
    doc: `announces what it writes instead of writing it: "Here's a normal (not spam) email: …", "This is an example of a spam email, …" (at the start), "Here's a clean and more professional version of the text: …" (a generic noun then a colon), "Here's the revised email:"`,
    pattern: (c) => {
      const here = String.raw`(?:here(?:['’]s| is| are)|below (?:is|are)|the following is|this is|there(?:['’]s| is))\b[^.!?\n:]{0,40}?\b(?:(?:an?|the|your) )?(?:(?:excellent|good|great|possible|simple|short|quick|clean(?:ed)?|revised|rewritten|edited|updated|new|more professional|sample) )*`;
      const generic = String.raw`(?:example|sample|version|draft|rewrite|re-write|revision|solution|suggestion|approach)\b`;
      return new RegExp(
        [
          String.raw`^\W{0,3}(?:a: )?${here}${generic}`, // at the start
          String.raw`\b${here}${generic}[^.!?\n:]{0,40}:`, // anywhere, introducing something with a colon
          String.raw`\b${here}(?:${c.label})[^.!?\n:]{0,12}\b(?:${c.item})\b`, // "here is a normal (not spam) email"
          String.raw`\bhere(?:['’]s| is) (?:the|your) (?:(?:revised|rewritten|edited|new|updated|corrected|final) )?(?:${c.item})\b`,
          // "Here's a rewritten version with minor tweaks …"
          String.raw`\bhere(?:['’]s| is) an? (?:(?:revised|rewritten|edited|cleaner|polished|improved|more \w+) )+version (?:with|of (?:your|the|this) (?:${c.item}|text|message))\b`,
        ].join('|'),
        'i',
      );
    },
  },
  {
    name: 'label-echo',
    doc: `names the requested label of the item as a category: "a normal (not spam) email", "this spam email is …", "Should I be sending a normal email to you?", or writes a label word that has a parenthesis verbatim ("Subject: Normal (not spam) Email")`,
    pattern: (c) =>
      new RegExp(
        String.raw`\b(?:an?|this|the|my|your) (?:${c.label})(?: \([^)]*\))? (?:${c.item})s?\b` +
          (c.verbatim ? String.raw`|(?:${c.verbatim})` : ''),
        'i',
      ),
    rationales: true,
  },
  {
    name: 'about-request',
    doc: `talks about writing the item: "To write a normal (not spam) email with header: …", "I'll provide a normal email that contains …", "I'll make that sentence with a couple of extra commas"`,
    pattern: (c) =>
      new RegExp(
        String.raw`\b(?:to write|i(?:['’]ll| will| can| could) (?:write|provide|create|draft|give you|make|generate|show you)|i(?:['’]ve| have) (?:just )?(?:written|created|drafted|edited|revised|rewritten|finished editing)) (?:an?|the|this|that|your|my) (?:[\w-]+ ){0,2}(?:${c.item}|sentence|text|example)\b`,
        'i',
      ),
  },
  {
    name: 'prompt-echo',
    doc: `repeats the prompt: "I just read an email that has Your password is not …", "It looks like you just read an email", "5 reasons that may lead to a normal email include …", "Now you should write …"`,
    pattern: (c) =>
      new RegExp(
        String.raw`\b(?:(?:just |have )?read an? (?:[\w-]+ ){0,3}(?:${c.item}) (?:that|which) has\b|you just read (?:an? |the )(?:[\w-]+ ){0,3}(?:${c.item})\b|reasons? (?:that|which|why) (?:may|might|could|can|would)? ?lead to\b|\d+ reasons (?:that|which|why|for)\b|imagine (?:that )?you (?:are|just|have)\b|now you should write\b|consider \d+ reasons\b|(?:write|writing) an? (?:${c.label}) (?:${c.item}) similar to\b)`,
        'i',
      ),
    rationales: true,
  },
];

/** The rule names, in the order they are tried. */
export const META_TALK_RULES: readonly string[] = RULES.map((r) => r.name);

/** The rules compiled for one task (build once per activity). */
export interface MetaTalkRules {
  /** the first rule an output breaks, or null when it is an example */
  output(text: string): string | null;
  /** the first rule a rationale breaks (prompt echoes and assistant talk only), or null */
  rationale(text: string): string | null;
}

/**
 * Compiles the rules for a task.
 * @param ctx the task's item and label words (labelWord of every label)
 */
export function metaTalkRules(ctx: MetaTalkContext): MetaTalkRules {
  const c = compile(ctx);
  const all = RULES.map((r) => ({ name: r.name, re: r.pattern(c), rationales: !!r.rationales }));
  const first = (text: string, rules: typeof all) => rules.find((r) => r.re.test(text))?.name ?? null;
  return {
    output: (text) => first(text, all),
    rationale: (text) =>
      first(
        text,
        all.filter((r) => r.rationales),
      ),
  };
}

/** What every rule catches (for docs and tests). */
export const META_TALK_DOCS: Readonly<Record<string, string>> = Object.fromEntries(RULES.map((r) => [r.name, r.doc]));
