/**
 * The how-tos in README.md and docs/ are runnable as written: every `npm run <script>` exists,
 * every `npm run s3 -- <command>` is a command of the CLI, every configuration file they name
 * exists and validates with the `--set` overrides they give, and every relative link resolves.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { loadConfig, loadExperiment } from '../../config/load.js';

const DOCS = [
  'README.md',
  ...readdirSync(path.join(PROJECT_ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join('docs', f)),
];
const read = (f: string) => readFileSync(path.join(PROJECT_ROOT, f), 'utf8');

/** Every `npm …` command line of a document: shell lines in code blocks and inline code spans. */
function npmCommands(text: string): string[] {
  const out: string[] = [];
  for (const block of text.matchAll(/```(?:bash|sh)?\n([\s\S]*?)```/g))
    for (const line of block[1].split('\n')) {
      const cmd = line.replace(/\s+#.*$/, '').trim();
      if (/^(\S+=\S+ )*npm /.test(cmd)) out.push(cmd.replace(/^(\S+=\S+ )*/, ''));
    }
  for (const span of text.matchAll(/`((?:\S+=\S+ )*npm [^`]+)`/g)) out.push(span[1].replace(/^(\S+=\S+ )*/, ''));
  return out.filter((c) => !c.includes('…')); // "npm run …": prose about commands, not one
}

/** Shell words, honouring single and double quotes (enough for the docs' commands). */
const words = (cmd: string) => [...cmd.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);

const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);
const help = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/s3.ts', '--help'], {
  cwd: PROJECT_ROOT,
  encoding: 'utf8',
});
const commands = [...help.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]);

test('every npm script and s3 command the docs use exists', () => {
  const bad: string[] = [];
  for (const doc of DOCS)
    for (const cmd of npmCommands(read(doc))) {
      const w = words(cmd);
      const script = w[1] === 'run' ? w[2] : w[1];
      if (!['start', 'test'].includes(script) && !scripts.includes(script))
        bad.push(`${doc}: ${cmd} (no script "${script}")`);
      if (script === 's3') {
        const sub = w[w.indexOf('--') + 1];
        if (!sub?.startsWith('<') && !sub?.startsWith('-') && !commands.includes(sub))
          bad.push(`${doc}: ${cmd} (no command "${sub}")`);
      }
    }
  assert.deepEqual(bad, []);
  assert.ok(commands.includes('export') && commands.includes('check'), help);
});

test('the configurations the docs run exist and validate with the overrides they give', () => {
  // the README's "your own task" example, as a file
  const dir = mkdtempSync(path.join(tmpdir(), 's3-docs-'));
  const myTask = /```json\n(\{\n {2}"runId": "my-task"[\s\S]*?)```/.exec(read('README.md'))?.[1];
  assert.ok(myTask, 'README has the my-task example');
  writeFileSync(path.join(dir, 'my-task.json'), myTask);
  let checked = 0;
  for (const doc of DOCS)
    for (const cmd of npmCommands(read(doc))) {
      const w = words(cmd);
      const at = w.indexOf('--');
      const start = w[1] === 'start';
      const sub = start ? 'start' : w[2] === 's3' ? w[at + 1] : undefined;
      if (!sub || !['start', 'check', 'experiment'].includes(sub)) continue;
      const args = start ? w.slice(at + 1) : w.slice(at + 2);
      if (at < 0) args.length = 0;
      const sets: string[] = [];
      let runId: string | undefined;
      let file: string | undefined;
      for (let i = 0; i < args.length; i++) {
        if (args[i] === '--set') sets.push(args[++i]);
        else if (args[i] === '--run-id') runId = args[++i];
        else if (!args[i].startsWith('-') && !file) file = args[i];
      }
      if (runId?.startsWith('<') || (file && /^(<.*|[A-Z_]+)$/.test(file))) continue; // a placeholder
      const resolved = !file
        ? path.join(PROJECT_ROOT, 'configs/spamassassin.json')
        : file === 'my-task.json'
          ? path.join(dir, 'my-task.json')
          : path.join(PROJECT_ROOT, file);
      assert.ok(existsSync(resolved), `${doc}: ${cmd}: ${file} does not exist`);
      const experiment = sub === 'experiment' || resolved.includes('/experiments/');
      assert.doesNotThrow(
        () => (experiment ? loadExperiment(resolved, sets) : loadConfig(resolved, sets, runId)),
        `${doc}: ${cmd}`,
      );
      checked++;
    }
  assert.ok(checked >= 10, `only ${checked} commands checked`);
});

test('every relative link in the docs resolves to a file', () => {
  const bad: string[] = [];
  for (const doc of DOCS)
    for (const m of read(doc).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/.test(target)) continue;
      if (!existsSync(path.join(PROJECT_ROOT, path.dirname(doc), target))) bad.push(`${doc}: ${target}`);
    }
  assert.deepEqual(bad, []);
});
