/**
 * `s3 contract [--check]`: writes the JSON Schemas of the trainAndEvaluate contract
 * (domain/studentContract.ts) into workers/finetune/contract/, where the Python training worker's
 * tests read them; with --check, only compares and exits 1 when a checked-in file is stale.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { PROJECT_ROOT } from '../activities/paths.js';
import { contractJsonSchemas } from '../domain/studentContract.js';

/** Where the checked-in JSON Schemas live. */
export const CONTRACT_DIR = path.join(PROJECT_ROOT, 'workers', 'finetune', 'contract');

/** Each schema file's text as `s3 contract` writes it (2-space JSON, final newline). */
export function contractFiles(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(contractJsonSchemas()).map(([name, schema]) => [name, JSON.stringify(schema, null, 2) + '\n']),
  );
}

/**
 * Compares (check) or writes the schema files.
 * @returns names of the files that differed from the generated text (written unless check)
 */
export async function syncContract(check: boolean, dir = CONTRACT_DIR): Promise<string[]> {
  const stale: string[] = [];
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(contractFiles())) {
    const file = path.join(dir, name);
    const old = await readFile(file, 'utf8').catch(() => null);
    if (old === text) continue;
    stale.push(name);
    if (!check) await writeFile(file, text);
  }
  return stale;
}

/** The `contract` subcommand. */
export function contractCommand(name: string): Command {
  return new Command(name)
    .description('write (or --check) the JSON Schemas of the trainAndEvaluate contract for the Python worker')
    .option('--check', 'exit 1 when a checked-in schema differs from domain/studentContract.ts')
    .addHelpText(
      'after',
      `
Examples:
  $ npm run s3 -- contract           # rewrite workers/finetune/contract/*.schema.json
  $ npm run s3 -- contract --check   # fail when they are stale`,
    )
    .action(async (o: { check?: boolean }) => {
      const stale = await syncContract(o.check === true);
      if (o.check && stale.length) {
        console.error(`stale in ${CONTRACT_DIR}: ${stale.join(', ')} (run: npm run s3 -- contract)`);
        process.exitCode = 1;
      } else console.log(stale.length ? `wrote ${stale.join(', ')}` : 'contract schemas up to date');
    });
}
