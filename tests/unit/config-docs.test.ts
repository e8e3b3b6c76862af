/** docs/configuration.md is generated from the zod schemas (scripts/gen-config-docs.ts) and kept fresh. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CONFIG_DOCS, configDocs, schemaDocs } from '../../scripts/gen-config-docs.js';

test('docs/configuration.md is up to date with config/schema.ts and config/experiment.ts', () => {
  const want = configDocs();
  const have = readFileSync(CONFIG_DOCS, 'utf8');
  assert.ok(
    have === want,
    'docs/configuration.md is stale: run `node --import tsx scripts/gen-config-docs.ts` and commit the result',
  );
});

test('every field has a type, a default and a description (the JSDoc next to it in the schema)', () => {
  const rows = configDocs()
    .split('\n')
    .filter((l) => /^\| `[^`]+` \|/.test(l));
  assert.ok(rows.length > 60, `only ${rows.length} field rows`);
  const bare = rows.filter((r) => r.split(' | ')[3]?.replace(/\|$/, '').trim() === '');
  assert.deepEqual(bare, [], 'fields without a description: add a JSDoc comment next to them in the schema');
});

test('descriptions follow spreads, shorthand properties, unions and arrays to their JSDoc', () => {
  const docs = schemaDocs({ S3ConfigSchema: '' });
  assert.match(docs.get('synthesis.seedSize') ?? '', /N_seed/);
  assert.match(docs.get('teacher{openai}.concurrency') ?? '', /in flight/); // ...teacherCommon
  assert.match(docs.get('teacher{llama-cpp}.modelPath') ?? '', /GGUF/); // shorthand `modelPath,`
  assert.match(docs.get('task.source{files}.invalidUtf8') ?? '', /UTF-8/);
  const exp = schemaDocs({ ExperimentConfigSchema: '' });
  assert.match(exp.get('arms[].seedShare') ?? '', /share of the budget/);
  assert.match(exp.get('synthesis.rounds') ?? '', /EES rounds/); // inherited through .omit().extend()
});
