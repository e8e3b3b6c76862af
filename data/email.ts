/**
 * Raw RFC 822 e-mail -> example text for the ham/spam task: MIME decoding with
 * postal-mime, HTML -> text with html-to-text, light reply-noise cleanup, whitespace
 * collapsing and truncation. Pure functions of their input (no file I/O).
 */
import { compile } from 'html-to-text';
import PostalMime from 'postal-mime';

/** html-to-text converter, compiled once: no line wrapping, link targets and images dropped, headings not uppercased, table cells as blocks */
const htmlToText = compile({
  wordwrap: false,
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
    // layout tables: one block per cell, so adjacent cells do not run together
    { selector: 'td', format: 'block' },
    { selector: 'th', format: 'block' },
  ],
});

/**
 * Light cleanup of a plain-text body: drops quoted reply lines (`> …`), the "… wrote:"
 * line introducing them, and a Mailman list footer (a line of underscores followed by
 * "… mailing list" / a listinfo URL). Keeps the original text when that leaves nothing.
 */
export function stripReplyNoise(body: string): string {
  const lines = body.replace(/\r\n?/g, '\n').split('\n');
  const footer = lines.findIndex(
    (l, i) =>
      /^_{10,}\s*$/.test(l) && lines.slice(i + 1, i + 4).some((n) => /mailing list|listinfo|\/mailman\//i.test(n)),
  );
  const kept = footer >= 0 ? lines.slice(0, footer) : lines;
  const isQuoted = (l: string | undefined): boolean => l !== undefined && /^\s*>/.test(l);
  const out = kept.filter((l, i) => {
    if (isQuoted(l)) return false;
    if (/wrote:\s*$|writes:\s*$/i.test(l)) {
      const next = kept.slice(i + 1).find((n) => n.trim() !== '');
      return !isQuoted(next);
    }
    return true;
  });
  const stripped = out.join('\n');
  return stripped.trim() === '' ? body : stripped;
}

/** Collapses every whitespace run (including newlines, NBSP) to one space, and trims. */
export function collapseWhitespace(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/**
 * Cuts `s` to at most `maxChars` UTF-16 units, at the last space when that keeps >= 80%
 * of the budget, never splitting a surrogate pair.
 */
export function truncate(s: string, maxChars: number): string {
  if (s.length <= maxChars) return s;
  let cut = s.slice(0, maxChars);
  const space = cut.lastIndexOf(' ');
  if (space >= maxChars * 0.8) cut = cut.slice(0, space);
  else if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut.trimEnd();
}

/** True when a text/plain body is really HTML markup (common in spam): an <html>/<body> tag or >= 5 tags. */
export function looksLikeHtml(text: string): boolean {
  return /<\s*(html|body)\b/i.test(text) || (text.match(/<\/?[a-z][a-z0-9]*\b[^<>]*>/gi)?.length ?? 0) >= 5;
}

async function parseToText(raw: string | Uint8Array, maxChars: number): Promise<string> {
  const email = await PostalMime.parse(raw);
  const plain = email.text && email.text.trim() !== '' ? email.text : '';
  let body = plain && looksLikeHtml(plain) ? htmlToText(plain) : stripReplyNoise(plain);
  if (body.trim() === '' && email.html) body = htmlToText(email.html);
  body = collapseWhitespace(body);
  if (body === '') return '';
  return truncate(`Subject: ${collapseWhitespace(email.subject ?? '')}\n\n${body}`, maxChars);
}

/** Windows-1252 characters of bytes 0x80..0x9F (Node's TextDecoder decodes these as Latin-1 controls). */
const CP1252_HIGH =
  '\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F' +
  '\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178';

/** Decodes bytes as Windows-1252. */
export function decodeWindows1252(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('latin1')
    .replace(/[\x80-\x9F]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]);
}

const countReplacement = (s: string): number => s.split('\uFFFD').length - 1;

/**
 * Turns one raw RFC 822 e-mail into example text: headers dropped, transfer encodings and
 * charsets decoded (postal-mime), text/plain preferred, else text/html converted to text
 * (html-to-text, links and images dropped; also for a text/plain part that is really
 * HTML), reply noise stripped (stripReplyNoise), whitespace collapsed, then
 * `Subject: <subject>\n\n<body>` truncated to maxChars. Undeclared 8-bit text that is not
 * UTF-8 (it decodes to U+FFFD) is retried as Windows-1252, the usual charset of such mail.
 * @param raw the message bytes (or a string, encoded as UTF-8)
 * @param opts.maxChars maximum length of the result in UTF-16 units
 * @returns the text, or "" when the message has no body text
 * @throws Error when postal-mime rejects the message (e.g. absurd nesting)
 */
export async function emailToText(raw: string | Uint8Array, opts: { maxChars: number }): Promise<string> {
  const text = await parseToText(raw, opts.maxChars);
  if (typeof raw === 'string' || !text.includes('\uFFFD')) return text;
  const retry = await parseToText(decodeWindows1252(raw), opts.maxChars);
  return countReplacement(retry) < countReplacement(text) ? retry : text;
}
