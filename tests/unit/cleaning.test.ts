/**
 * Cleaning, judging and rationale parsing of teacher outputs (domain/cleaning.ts). Several
 * inputs are verbatim SmolLM2-135M-Instruct replies to the S3 prompts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cleanOutput, judgeOutput, normalizeForCompare, parseRationales } from '../../domain/cleaning.js';

describe('cleanOutput', () => {
  const cases: [string, string, string][] = [
    [
      'opener, intro with colon, quotes, bold, closing remark',
      'Sure! Here is a positive movie review:\n\n"**Inception** is a mind-bending masterpiece. The acting is superb."\n\nI hope this helps!',
      'Inception is a mind-bending masterpiece. The acting is superb.',
    ],
    [
      'spam e-mail: Subject line kept, Note tail cut',
      "Certainly! Here's an e-mail that is spam:\n\nSubject: You WON $1,000,000!!!\n\nDear friend, click here to claim your prize.\n\nNote: This e-mail is fictional and for illustration only.",
      'Subject: You WON $1,000,000!!! Dear friend, click here to claim your prize.',
    ],
    [
      'leaked chat tokens, label, quotes',
      '<|im_start|>assistant\nReview: "I loved it, truly."<|im_end|>',
      'I loved it, truly.',
    ],
    ['code fence', '```\nThe plot drags and the jokes fall flat.\n```', 'The plot drags and the jokes fall flat.'],
    [
      'intro sentence ending with a period (verbatim SmolLM2 style)',
      "Here's a possible re-write of the original message:\n\nJohn,\n\nI hope this message finds you well. The meeting is at 3pm.",
      'John, I hope this message finds you well. The meeting is at 3pm.',
    ],
    [
      '"Let me know if you can make it" is e-mail content, not a chat tail',
      'Here is a new e-mail similar to the one above. Hi team, lunch is at noon on Friday. Let me know if you can make it!',
      'Hi team, lunch is at noon on Friday. Let me know if you can make it!',
    ],
    [
      'a text starting "Here is your chance:" is content',
      'Here is your chance: win a free cruise today!',
      'Here is your chance: win a free cruise today!',
    ],
    [
      'inner quotes are not surrounding quotes',
      '"Great" and "fun" are the words I would use.',
      '"Great" and "fun" are the words I would use.',
    ],
    ['pair task label', 'Hypothesis: A man is sleeping on a couch.', 'A man is sleeping on a couch.'],
    [
      'inline parenthesised note',
      "Sure, here's a negative review: The film was boring and far too long. (Note: this review is fictional.)",
      'The film was boring and far too long.',
    ],
    ['curly quotes and heading', '### Review\n“A quiet, moving film.”', 'A quiet, moving film.'],
    [
      'happy-to-help opener, feel-free tail',
      "I'd be happy to help! Buy cheap meds now!!! Feel free to modify it.",
      'Buy cheap meds now!!!',
    ],
    ['only boilerplate => empty', 'Sure! I hope this helps!', ''],
    ['whitespace collapsed', '  The   service\n\nwas\tslow.  ', 'The service was slow.'],
  ];
  for (const [name, raw, want] of cases) test(name, () => assert.equal(cleanOutput(raw), want));

  test('verbatim SmolLM2 ham e-mail keeps its content', () => {
    const raw =
      'Subject: Your personal email is a ham!\n\nDear [Recipient],\n\nI hope this message finds you well!\n\nHello.\n\nSee you tomorrow.';
    assert.equal(
      cleanOutput(raw),
      'Subject: Your personal email is a ham! Dear [Recipient], I hope this message finds you well! Hello. See you tomorrow.',
    );
  });
});

describe('normalizeForCompare', () => {
  test('lowercase, punctuation stripped, whitespace collapsed', () => {
    assert.equal(normalizeForCompare('  "Great  MOVIE!!" — really… '), 'great movie really');
    assert.equal(normalizeForCompare('Great movie'), normalizeForCompare('great, movie.'));
  });
});

describe('judgeOutput', () => {
  const seen = () => new Set<string>();
  test('ok for a fresh text; seen is not modified', () => {
    const s = seen();
    assert.deepEqual(judgeOutput('The film was a delight from start to end.', { seen: s }), { ok: true });
    assert.equal(s.size, 0);
  });
  test('empty: nothing, or only punctuation/symbols', () => {
    for (const x of ['', '   ', '...', '** "" **'])
      assert.deepEqual(judgeOutput(x, { seen: seen() }), { ok: false, reason: 'empty' }, JSON.stringify(x));
  });
  test('too_short, with configurable minChars', () => {
    assert.deepEqual(judgeOutput('Great!', { seen: seen() }), { ok: false, reason: 'too_short' });
    assert.deepEqual(judgeOutput('Great!', { seen: seen(), minChars: 3 }), { ok: true });
  });
  test('copy_of_prompt_example: exact after normalisation, near-complete, or reworded same words', () => {
    const promptExample = 'Hi John, the meeting is moved to 3pm.';
    const judge = (x: string) => judgeOutput(x, { seen: seen(), promptExample });
    assert.deepEqual(judge('hi john -- the meeting is moved to 3PM'), { ok: false, reason: 'copy_of_prompt_example' });
    assert.deepEqual(judge('John, the meeting is moved to 3pm.'), { ok: false, reason: 'copy_of_prompt_example' });
    assert.deepEqual(judge('Hi John, the meeting is moved to 3pm. Thanks'), {
      ok: false,
      reason: 'copy_of_prompt_example',
    });
    // verbatim SmolLM2 output for this prompt: shares words but is not a copy
    assert.deepEqual(
      judge('Can\'t use the "&" symbol, just in case. John, the meeting is moved to 3pm. This is a ham.'),
      {
        ok: true,
      },
    );
    assert.deepEqual(judge('Hi Anna, lunch is cancelled today, sorry.'), { ok: true });
  });
  test('duplicate of a seen text (normalised)', () => {
    const s = new Set([normalizeForCompare('Win a FREE iPhone now!')]);
    assert.deepEqual(judgeOutput('win a free iphone now', { seen: s }), { ok: false, reason: 'duplicate' });
  });
});

describe('parseRationales', () => {
  test('numbered list with intro, bold titles, mixed markers; at most k', () => {
    const raw =
      'Here are 5 reasons why an e-mail is spam:\n\n1. **Urgency**: It pressures you to act now.\n2. It asks for your password.\n' +
      '3) Too-good-to-be-true offers.\n- It has many links.\n5. It comes from an unknown sender.\n6. Extra reason.\n\nI hope this helps!';
    assert.deepEqual(parseRationales(raw, 5), [
      'Urgency: It pressures you to act now',
      'It asks for your password',
      'Too-good-to-be-true offers',
      'It has many links',
      'It comes from an unknown sender',
    ]);
    assert.equal(parseRationales(raw, 2).length, 2);
  });

  test('verbatim SmolLM2: intro paragraph, blank lines between items, last item cut by maxTokens', () => {
    const raw =
      '1. Unfiltered emails: The origin of an email is not known to most people and it is often opened from a untrained or unfiltered user.\n\n' +
      '2. Unfiltered email: The origin of an email is often unfiltered and unfiltered or untrained users can only see any kind of email which is unsolicited.\n\n' +
      '3. Unfiltered email: Most of the time you see the spam emails you might not actually get, because most of the time people send';
    const got = parseRationales(raw, 5);
    assert.equal(got.length, 2);
    assert.match(got[0], /^Unfiltered emails: The origin/);
  });

  test('verbatim SmolLM2: a continuation line joins its item; a cut single item is dropped', () => {
    const raw =
      "1. A movie review should be positive: These reviews aim to provide something constructive and uplifting. They focus on the movie being reviewed and celebrate the critic's opinion. \n" +
      'They are more focused on the quality of the movie itself and the impact it had on the audience.';
    const [r] = parseRationales(raw, 5);
    assert.match(r, /critic's opinion\. They are more focused/);
    const cut =
      'A movie review offers multiple positive aspects. Here are five reasons why a movie review is considered positive:\n\n' +
      '1. Personalization: A positive film review can provide a fresh perspective for the audience, allowing them to make their own personal';
    assert.deepEqual(parseRationales(cut, 5), []);
  });

  test('"List them one per line" answers without markers; intro lines dropped', () => {
    assert.deepEqual(
      parseRationales(
        'Sure! Here are some reasons:\nThe acting is superb\nThe plot is gripping\nThe acting is superb.',
        5,
      ),
      ['The acting is superb', 'The plot is gripping'],
    );
  });

  test('inline numbered list on one line', () => {
    assert.deepEqual(parseRationales('1. Offers free money. 2. Uses all caps. 3. Contains suspicious links.', 5), [
      'Offers free money',
      'Uses all caps',
      'Contains suspicious links',
    ]);
  });

  test('a prose paragraph (verbatim SmolLM2) gives no rationales; empty input gives none', () => {
    const prose =
      'E-mail can be a convenient solution to alleviate office issues. One of the primary reasons people use email is to communicate with friends and family. However, this convenience comes at a cost.';
    assert.deepEqual(parseRationales(prose, 5), []);
    assert.deepEqual(parseRationales('', 5), []);
    assert.deepEqual(parseRationales('<|im_end|>', 5), []);
  });

  test('"Reason 1:" prefixes and asterisk bullets', () => {
    assert.deepEqual(
      parseRationales('Reason 1: The price is too good.\nReason 2: Misspelled sender name.\n* Generic greeting.', 5),
      ['The price is too good', 'Misspelled sender name', 'Generic greeting'],
    );
  });
});
