/** Small helpers the CLI commands share (kept free of heavy imports so `s3 --version` and `s3 check` start fast). */

/** `--set a.b=c` collected into a list. */
export const collect = (v: string, prev: string[]) => [...prev, v];

/**
 * `--json`: every status line (ours, the dev server's, the finetune worker's) goes to stderr, and
 * stdout carries only the JSON result.
 * @returns print(value): writes the JSON to stdout
 */
export function jsonOut(): (value: unknown) => void {
  const stdout = process.stdout.write.bind(process.stdout);
  console.log = (...args: unknown[]) => console.error(...args);
  return (value) => stdout(`${JSON.stringify(value, null, 2)}\n`);
}
