/**
 * Redaction of secrets in text that may end up in workflow history, logs or artifacts
 * (provider error messages echo request headers more often than one would hope).
 */

/** Patterns that look like credentials whatever key is configured. */
const PATTERNS: [RegExp, string][] = [
  [/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{4,}/gi, '$1 [redacted]'],
  [/\bsk-[A-Za-z0-9_-]{4,}/g, 'sk-[redacted]'],
  [/\b(api[_-]?key|authorization|x-api-key)(["']?\s*[:=]\s*["']?)[^\s"',;}]{4,}/gi, '$1$2[redacted]'],
];

/**
 * Removes credentials from `text`: any `Bearer …`/`Basic …` token, anything shaped like an
 * OpenAI key (`sk-…`), `api_key=…`/`Authorization: …` values, and every literal secret in
 * `secrets` (e.g. the value of the configured `teacher.apiKeyEnv`; values shorter than 4
 * characters are ignored, they would redact ordinary words).
 * @returns the text with each secret replaced by `[redacted]`
 */
export function redactSecrets(text: string, secrets: (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  for (const [re, by] of PATTERNS) out = out.replace(re, by);
  return out;
}

/** The API keys this process could send: values of the environment variables whose names
 * end in KEY/TOKEN/SECRET (the configured `apiKeyEnv` included). */
export function secretsInEnvironment(extraNames: string[] = []): string[] {
  const names = new Set(extraNames);
  for (const n of Object.keys(process.env)) if (/(KEY|TOKEN|SECRET|PASSWORD)$/i.test(n)) names.add(n);
  return [...names].map((n) => process.env[n]).filter((v): v is string => Boolean(v && v.length >= 4));
}
