/**
 * Generates docs/configuration.md from the zod schemas (config/schema.ts, config/experiment.ts):
 * one table per object of the configuration with each field's type, default and description.
 *
 *   node --import tsx scripts/gen-config-docs.ts           # writes docs/configuration.md
 *   node --import tsx scripts/gen-config-docs.ts --check   # exits 1 when the file is stale
 *
 * Types and defaults come from the schemas at run time (zod 4's `_zod.def`); descriptions are the
 * JSDoc comments written next to the fields in the schema sources, read with the TypeScript
 * compiler's parser (no `.describe()` duplicates of them). tests/unit/config-docs.test.ts fails when
 * the file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { ExperimentConfigSchema } from '../config/experiment.js';
import { S3ConfigSchema } from '../config/schema.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Where the generated reference goes. */
export const CONFIG_DOCS = path.join(ROOT, 'docs/configuration.md');
/** The schema sources whose JSDoc comments are the descriptions. */
const SOURCES = [
  'config/schema.ts',
  'config/teacher.ts',
  'config/experiment.ts',
  'acquisition/types.ts',
  'domain/experiment.ts',
  'quality/filters/schema.ts',
];

// ---------------------------------------------------------------------------------------------
// Descriptions: JSDoc comments of the schema sources, keyed by configuration path.
// ---------------------------------------------------------------------------------------------

/** A path key: fields joined by ".", a union variant as `{tag}`, an array element as `[]`. */
type Docs = Map<string, string>;

function jsDocText(node: ts.Node): string {
  const parts = ts
    .getJSDocCommentsAndTags(node)
    .filter(ts.isJSDoc)
    .map((d) => ts.getTextOfJSDocComment(d.comment) ?? '');
  return parts.join(' ').replace(/\s+/g, ' ').trim();
}

/**
 * Reads the JSDoc comments of the fields of the schemas named `roots`, following the zod calls
 * (strictObject, extend, discriminatedUnion, array, default …), identifiers, spreads and
 * shorthand properties through the top-level declarations of {@link SOURCES}.
 */
export function schemaDocs(roots: Record<string, string>): Docs {
  const decls = new Map<string, ts.VariableDeclaration>();
  for (const file of SOURCES) {
    const sf = ts.createSourceFile(file, readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
    for (const st of sf.statements)
      if (ts.isVariableStatement(st))
        for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) decls.set(d.name.text, d);
  }
  const out: Docs = new Map();
  const seen = new Set<string>();
  const set = (key: string, doc: string) => {
    if (doc && !out.has(key)) out.set(key, doc);
  };

  const walk = (e: ts.Expression, prefix: string): void => {
    if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e)) return walk(e.expression, prefix);
    if (ts.isIdentifier(e)) {
      const d = decls.get(e.text);
      const guard = `${e.text}@${prefix}`;
      if (!d?.initializer || seen.has(guard)) return;
      seen.add(guard);
      set(prefix.replace(/\.$/, ''), jsDocText(d));
      return walk(d.initializer, prefix);
    }
    if (ts.isObjectLiteralExpression(e)) return walkObject(e, prefix);
    if (!ts.isCallExpression(e) || !ts.isPropertyAccessExpression(e.expression)) return;
    const name = e.expression.name.text;
    const [a0, a1] = e.arguments;
    if (['strictObject', 'object', 'looseObject'].includes(name) && a0) return walk(a0, prefix);
    if (name === 'array' && a0) return walk(a0, `${prefix.replace(/\.$/, '')}[].`);
    if (name === 'discriminatedUnion' && a0 && a1 && ts.isStringLiteral(a0) && ts.isArrayLiteralExpression(a1)) {
      for (const option of a1.elements) {
        const tag = literalOf(option, a0.text);
        if (tag) walk(option, `${prefix.replace(/\.$/, '')}{${tag}}.`);
      }
      return;
    }
    if (name === 'extend' && a0) {
      // the extension's fields replace the base's: document them from the extension only
      walk(a0, prefix);
      const replaced = ts.isObjectLiteralExpression(a0)
        ? a0.properties.flatMap((p) => (p.name && ts.isIdentifier(p.name) ? [prefix + p.name.text] : []))
        : [];
      const kept = new Map(out);
      walk(e.expression.expression, prefix);
      for (const k of [...out.keys()])
        if (!kept.has(k) && replaced.some((r) => k === r || k.startsWith(`${r}.`))) out.delete(k);
      return;
    }
    walk(e.expression.expression, prefix); // .default(), .prefault(), .optional(), .refine(), .omit(), .min() …
  };

  const walkObject = (o: ts.ObjectLiteralExpression, prefix: string): void => {
    for (const p of o.properties) {
      if (ts.isSpreadAssignment(p)) {
        walk(p.expression, prefix);
        continue;
      }
      const key = p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) ? p.name.text : undefined;
      if (!key) continue;
      set(prefix + key, jsDocText(p));
      if (ts.isPropertyAssignment(p)) walk(p.initializer, `${prefix}${key}.`);
      else if (ts.isShorthandPropertyAssignment(p)) walk(p.name, `${prefix}${key}.`);
    }
  };

  /** The string literal of the union option's discriminator field (`z.literal('x')`). */
  const literalOf = (option: ts.Expression, discriminator: string): string | undefined => {
    let found: string | undefined;
    const visit = (n: ts.Node): void => {
      if (found) return;
      if (ts.isIdentifier(n) && decls.get(n.text)?.initializer && n.parent && !ts.isPropertyAccessExpression(n.parent))
        return visit(decls.get(n.text)!.initializer!);
      if (ts.isPropertyAssignment(n) && ts.isIdentifier(n.name) && n.name.text === discriminator) {
        const m = /literal\(\s*['"]([^'"]+)['"]/.exec(n.initializer.getText());
        if (m) found = m[1];
        return;
      }
      ts.forEachChild(n, visit);
    };
    visit(option);
    return found;
  };

  for (const [name, prefix] of Object.entries(roots)) walk(ts.factory.createIdentifier(name), prefix);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Types and defaults: the zod schemas at run time.
// ---------------------------------------------------------------------------------------------

/** A zod 4 schema as far as this generator looks at it. */
interface Node {
  _zod: {
    def: {
      type: string;
      innerType?: Node;
      in?: Node;
      defaultValue?: unknown;
      shape?: Record<string, Node>;
      options?: Node[];
      discriminator?: string;
      entries?: Record<string, string>;
      values?: unknown[];
      element?: Node;
      valueType?: Node;
      checks?: {
        _zod: { def: { check: string; format?: string; value?: number; inclusive?: boolean; minimum?: number } };
      }[];
    };
    propValues?: Record<string, Set<unknown>>;
  };
}

interface Field {
  key: string;
  type: string;
  default: string;
  /** a nested object shown in its own section */
  section?: Section;
}
interface Section {
  path: string;
  title: string;
  fields: Field[];
}

/** The schema under its wrappers, with what the wrappers say: optional, default. */
function peel(s: Node): { node: Node; optional: boolean; default?: unknown; hasDefault: boolean } {
  let optional = false;
  let hasDefault = false;
  let dflt: unknown;
  for (;;) {
    const d = s._zod.def;
    if ((d.type === 'default' || d.type === 'prefault') && !hasDefault) {
      hasDefault = true;
      dflt = d.defaultValue;
    }
    if (d.type === 'optional') optional = true;
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return { node: s, optional, default: dflt, hasDefault };
  }
}

function bounds(s: Node): string {
  const parts: string[] = [];
  for (const c of s._zod.def.checks ?? []) {
    const d = c._zod.def;
    if (d.check === 'greater_than') parts.push(`${d.inclusive ? '≥' : '>'} ${d.value}`);
    if (d.check === 'less_than') parts.push(`${d.inclusive ? '≤' : '<'} ${d.value}`);
    if (d.check === 'min_length') parts.push(`at least ${d.minimum}`);
  }
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function typeOf(s: Node): string {
  const d = s._zod.def;
  switch (d.type) {
    case 'string': {
      const fmt = (d.checks ?? []).map((c) => c._zod.def.format).find((f) => f && f !== 'regex');
      return fmt === 'url' ? 'string (URL)' : 'string';
    }
    case 'number': {
      const int = (d.checks ?? []).some((c) => c._zod.def.format === 'safeint');
      return (int ? 'integer' : 'number') + bounds(s);
    }
    case 'boolean':
      return 'boolean';
    case 'enum':
      return Object.values(d.entries ?? {})
        .map((v) => `"${v}"`)
        .join(' \\| ');
    case 'literal':
      return (d.values ?? []).map((v) => JSON.stringify(v)).join(' \\| ');
    case 'array': {
      const el = peel(d.element!).node;
      return `array of ${el._zod.def.type === 'object' ? 'objects' : typeOf(el)}${bounds(s)}`;
    }
    case 'record':
      return `object of ${typeOf(peel(d.valueType!).node)}`;
    case 'object':
      return 'object';
    case 'union':
      return d.discriminator ? `object, by \`${d.discriminator}\`` : 'one of several';
    default:
      return d.type;
  }
}

function defaultOf(p: ReturnType<typeof peel>): string {
  if (p.hasDefault) {
    const v = p.default;
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) return 'its fields’ defaults';
    return `\`${JSON.stringify(v)}\``.replace(/\|/g, '\\|');
  }
  return p.optional ? 'unset' : 'required';
}

/** The variant tag of a discriminated-union option (its literal, not `undefined`). */
function tagOf(option: Node, discriminator: string): string {
  const values = [...(option._zod.propValues?.[discriminator] ?? [])].filter((v) => v !== undefined);
  return String(values[0]);
}

/** `task.source{files}.fields` → `` `task.source.fields` (type "files") ``: a section's title. */
function titleOf(p: string, lead: string): string {
  const tags = [...p.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
  const plain = p.replace(/\{[^}]*\}/g, '');
  const disc = tags.length ? ` (${tags.map((t) => `"${t}"`).join(', ')})` : '';
  return `${lead}\`${plain}\`${disc}`;
}

/** The sections of an object schema (itself first, then its nested objects, depth first). */
function sections(
  obj: Node,
  pathName: string,
  title: string,
  lead: string,
  skip: ReadonlySet<string> = new Set(),
): Section[] {
  const out: Section[] = [];
  const self: Section = { path: pathName, title, fields: [] };
  out.push(self);
  for (const [key, raw] of Object.entries(obj._zod.def.shape ?? {})) {
    if (skip.has(key)) continue;
    const p = peel(raw);
    const full = pathName ? `${pathName}.${key}` : key;
    const field: Field = { key, type: typeOf(p.node), default: defaultOf(p) };
    const d = p.node._zod.def;
    if (d.type === 'object') {
      const sub = sections(p.node, full, titleOf(full, lead), lead);
      field.section = sub[0];
      out.push(...sub);
    } else if (d.type === 'union' && d.discriminator) {
      for (const option of d.options ?? []) {
        const o = peel(option).node;
        const tag = tagOf(o, d.discriminator);
        const variant = `${full}{${tag}}`;
        out.push(
          ...sections(
            o,
            variant,
            `${lead}\`${full.replace(/\{[^}]*\}/g, '')}\` with ${d.discriminator} "${tag}"`,
            lead,
          ),
        );
      }
      field.section = { path: `${full}{`, title: '', fields: [] };
    } else if (d.type === 'array' && peel(d.element!).node._zod.def.type === 'object') {
      const sub = sections(peel(d.element!).node, `${full}[]`, `${titleOf(full, lead)}: one element`, lead);
      field.section = sub[0];
      out.push(...sub);
    }
    self.fields.push(field);
  }
  return out;
}

/** A GitHub-style anchor of a section title. */
const anchor = (title: string) =>
  title
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .trim()
    .replace(/ /g, '-');

function renderSection(s: Section, docs: Docs, titles: Map<string, string>): string {
  const intro = docs.get(s.path);
  const rows = s.fields.map((f) => {
    const full = s.path ? `${s.path}.${f.key}` : f.key;
    let doc = (docs.get(full) ?? '').replace(/\|/g, '\\|');
    if (f.section) {
      const targets = [...titles.entries()].filter(([p]) =>
        f.section!.path.endsWith('{') ? p.startsWith(f.section!.path) && p.endsWith('}') : p === f.section!.path,
      );
      const links = targets.map(([, t]) => `[${t.replace(/`/g, '')}](#${anchor(t)})`).join(', ');
      doc = `${doc}${doc && !/[.!?]$/.test(doc) ? '.' : ''}${doc ? ' ' : ''}See ${links}.`;
    }
    return `| \`${f.key}\` | ${f.type} | ${f.default} | ${doc} |`;
  });
  return [
    `### ${s.title}`,
    '',
    ...(intro ? [intro, ''] : []),
    '| field | type | default | description |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

const HEADER = `# Configuration reference

<!-- Generated by scripts/gen-config-docs.ts from config/schema.ts and config/experiment.ts; do not edit by hand.
     Regenerate with: node --import tsx scripts/gen-config-docs.ts (tests/unit/config-docs.test.ts fails when stale) -->

One zod schema validates every entry point: the \`s3\` CLI, \`--set key=value\` overrides and JSON input given to the
Temporal CLI. \`npm run s3 -- check FILE\` validates a run or experiment configuration and prints it with every default
filled in, without starting anything. Unknown keys anywhere are an error naming the key and the closest known one
(\`synthesis.seedsize: unknown key (did you mean "seedSize"?)\`), so a typo never silently falls back to a default.
Relative paths (\`runRoot\`, \`cacheDir\`, data files) resolve against the worker's working directory.

In the tables, "its fields' defaults" means the object may be left out and each of its fields takes its own default.
`;

const FOOTER = `## Environment variables

- \`S3_ENCODER=1\`: setup builds the default encoder (\`models/all-MiniLM-L6-v2\`).
- \`S3_FINETUNE=1\`: setup builds \`.tools/finetune-venv\` and \`models/all-MiniLM-L6-v2-hf\`.
- \`S3_TRAIN_TASK_QUEUE\`: the Python training worker's task queue (default \`s3-train\`).
- \`S3_LLAMA_TOOLS=1\`: setup builds llama.cpp's \`llama-server\` and benchmarks; \`S3_LLAMA_ADDON=1\`: setup builds node-llama-cpp for this CPU.
- \`TEMPORAL_ADDRESS\`, \`TEMPORAL_NAMESPACE\`, \`TEMPORAL_API_KEY\`, \`TEMPORAL_TLS_*\`, \`TEMPORAL_PROFILE\` / \`TEMPORAL_CONFIG_FILE\` (Temporal's environment configuration: [deployment.md](deployment.md#temporal-connections)), \`S3_TASK_QUEUE\`, \`S3_MAX_ACTIVITIES\` (worker activity slots, default 4; \`S3_TEACHER_SLOTS\`, \`S3_STUDENT_SLOTS\` for one-role queues: [deployment.md](deployment.md#worker-roles-by-task-queue)): worker and CLI.
- \`S3_TEACHER_MODEL\`: the default GGUF path. \`S3_GPU=1\`: let node-llama-cpp use a GPU. \`S3_CUDA=1\`: setup lets onnxruntime-node fetch its CUDA execution provider.
`;

/** The whole of docs/configuration.md. */
export function configDocs(): string {
  const runDocs = schemaDocs({ S3ConfigSchema: '' });
  const expDocs = schemaDocs({ ExperimentConfigSchema: '' });
  const run = sections(S3ConfigSchema as unknown as Node, '', 'Run configuration: top level', '');
  const runFields = new Set(Object.keys(S3ConfigSchema.shape).filter((k) => k !== 'budget'));
  const exp = sections(
    ExperimentConfigSchema as unknown as Node,
    '',
    'Experiment: top level',
    'experiment ',
    runFields,
  );
  const titles = (secs: Section[]) => new Map(secs.map((s) => [s.path, s.title]));
  return [
    HEADER,
    '## Run configuration',
    '',
    'A run (`npm start`, `s3 start`, the workflow `s3Synthesis`) takes one JSON object with these fields. Example: `configs/spamassassin.json`.',
    '',
    ...run.map((s) => renderSection(s, runDocs, titles(run))),
    '## Experiment configuration',
    '',
    'An experiment (`s3 experiment`, the workflow `s3Experiment`) has every field of a run configuration except `runId`, `seed` and `budget`; they are shared by all arms. Each (arm, seed) becomes a run configuration with run directory `<runRoot>/<experimentId>/<arm>/seed-<s>`. Its own fields follow. Example: `configs/experiments/spamassassin.json`.',
    '',
    ...exp.map((s) => renderSection(s, expDocs, titles(exp))),
    FOOTER,
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = configDocs();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(CONFIG_DOCS, 'utf8');
    } catch {
      /* missing = stale */
    }
    if (current !== text) {
      console.error(`${path.relative(ROOT, CONFIG_DOCS)} is stale: run node --import tsx scripts/gen-config-docs.ts`);
      process.exit(1);
    }
  } else {
    writeFileSync(CONFIG_DOCS, text);
    console.log(`wrote ${path.relative(ROOT, CONFIG_DOCS)}`);
  }
}
