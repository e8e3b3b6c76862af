/**
 * `s3 export` and `s3 predict` reading a run whose artifacts are in a REAL S3-compatible store
 * (versitygw started on loopback by tests/helpers/objectStore.ts; skipped with the reason when it
 * is not built), directly through the artifact store:
 * - small run folders (classification single and pair, extractive QA; tests/helpers/runFolders.ts)
 *   are put into the bucket; the export from `s3://bucket/…/<runId>/` writes the same files, byte
 *   for byte, as the export of the same local folder, in every format;
 * - the command as a user runs it: an `s3://` URI with `--endpoint`, and a run id with `--config`
 *   (a run configuration whose `artifacts` names the store and its endpoint);
 * - an object changed behind the store's back (its file in versitygw's POSIX folder rewritten) is
 *   refused with the URI and both hashes; a URI with nothing under it says so;
 * - `s3 predict` of an exported student in the bucket (a tiny random BERT exported to ONNX by the
 *   Python worker's exporter; skipped without .tools/finetune-venv) on a JSONL file in the bucket
 *   prints the same lines as on the local folder and file.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { exportCommand, exportRun, exportStoredRun, type ExportFormat } from '../../scripts/export.js';
import {
  loadExportedStudent,
  predictCommand,
  predictLines,
  readPredictRows,
  studentFolderOf,
} from '../../scripts/predict.js';
import { IntegrityError, openStore, type ArtifactStore } from '../../store/index.js';
import { FINETUNE_PYTHON, finetuneUnavailable } from '../../workers/finetune.js';
import {
  OBJECT_STORE_SKIP,
  startObjectStore,
  type ObjectStoreServer,
  useStoreCredentials,
} from '../helpers/objectStore.js';
import { classificationRunDir, qaRunDir } from '../helpers/runFolders.js';

let s3: ObjectStoreServer;
let restoreCredentials: (() => void) | undefined;
const scratch: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(path.join(os.tmpdir(), p));
  scratch.push(d);
  return d;
};

/** Every file under `dir`, '/'-separated, sorted. */
function filesUnder(dir: string, base = dir): string[] {
  return readdirSync(dir)
    .flatMap((f) => {
      const p = path.join(dir, f);
      return statSync(p).isDirectory() ? filesUnder(p, base) : [path.relative(base, p).split(path.sep).join('/')];
    })
    .sort();
}

/** Puts every file of the local folder `dir` under `<prefix>` of `store` (S3ObjectStore.put: sha256 recorded). */
async function upload(store: ArtifactStore, dir: string, prefix: string): Promise<number> {
  const files = filesUnder(dir);
  for (const f of files) await store.put(`${prefix}${f}`, readFileSync(path.join(dir, f)));
  return files.length;
}

/** Asserts that two export folders hold the same file names with the same bytes; @returns how many files. */
function assertSameFolders(local: string, stored: string, what: string): number {
  const a = filesUnder(local);
  assert.deepEqual(filesUnder(stored), a, `${what}: the same files`);
  for (const f of a)
    assert.ok(readFileSync(path.join(local, f)).equals(readFileSync(path.join(stored, f))), `${what}: ${f} identical`);
  return a.length;
}

/** Runs a CLI subcommand in-process and returns what it printed. */
async function runCommand(make: (name: string) => import('commander').Command, args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...xs: unknown[]) => void lines.push(xs.map(String).join(' '));
  try {
    await make('cmd').exitOverride().parseAsync(args, { from: 'user' });
  } finally {
    console.log = log;
  }
  return lines;
}

describe(
  's3 export / s3 predict read a run in a real S3-compatible store (versitygw)',
  { skip: OBJECT_STORE_SKIP },
  () => {
    before(async () => {
      s3 = await startObjectStore();
      restoreCredentials = useStoreCredentials(s3);
    });
    after(async () => {
      restoreCredentials?.();
      await s3?.stop();
      for (const d of scratch) rmSync(d, { recursive: true, force: true });
    });

    test('the export from s3:// equals the export of the same local folder, byte for byte (single, pair, QA; hf, parquet, jsonl)', async () => {
      const bucket = openStore({ uri: `s3://${s3.bucket}/`, endpoint: s3.endpoint });
      let compared = 0;
      for (const kind of ['single', 'pair', 'qa'] as const) {
        const root = tmp(`s3-export-store-${kind}-`);
        const local = kind === 'qa' ? await qaRunDir(root) : classificationRunDir(root, kind);
        const runId = path.basename(local);
        // the same two last segments as the local folder (<root>/runs/<runId>): the card names them
        const uploaded = await upload(bucket, local, `${kind}/runs/${runId}/`);
        assert.ok(uploaded >= 5, `${kind}: the run folder is in the bucket`);
        const uri = `s3://${s3.bucket}/${kind}/runs/${runId}/`;
        for (const format of ['hf', 'parquet', 'jsonl'] as ExportFormat[]) {
          const fromLocal = exportRun(local, path.join(root, `local-${format}`), { format });
          const fromStore = await exportStoredRun({ uri, endpoint: s3.endpoint }, path.join(root, `stored-${format}`), {
            format,
          });
          assert.equal(fromStore.runDir, uri.slice(0, -1), 'the summary names the run by its URI');
          assert.deepEqual(fromStore.splits, fromLocal.splits);
          assert.deepEqual(fromStore.labelCounts, fromLocal.labelCounts);
          compared += assertSameFolders(fromLocal.outDir, fromStore.outDir, `${kind} ${format}`);
        }
      }
      // hf: data ×3 + provenance + card = 5 files; parquet the same; jsonl: 3 splits + provenance (QA) or 3
      assert.ok(compared >= 3 * (5 + 5 + 3), `${compared} files compared`);
    });

    test('the command: an s3:// URI with --endpoint, and a run id with --config (artifacts.uri and its endpoint)', async () => {
      const root = tmp('s3-export-cli-');
      const local = classificationRunDir(root, 'single');
      const bucket = openStore({ uri: `s3://${s3.bucket}/`, endpoint: s3.endpoint });
      await upload(bucket, local, 'cli/runs/done/');
      const reference = exportRun(local, path.join(root, 'local'), { format: 'hf' });

      const byUri = path.join(root, 'by-uri');
      const printed = await runCommand(exportCommand, [
        `s3://${s3.bucket}/cli/runs/done`,
        '--out',
        byUri,
        '--endpoint',
        s3.endpoint,
      ]);
      assert.match(
        printed[0],
        new RegExp(`^exported s3://${s3.bucket}/cli/runs/done → ${byUri} \\(train 5, validation 4, test 6\\)`),
      );
      assertSameFolders(reference.outDir, byUri, 'by URI');

      const run = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'configs', 'spamassassin.json'), 'utf8')) as object;
      const configFile = path.join(root, 'run.json');
      writeFileSync(
        configFile,
        JSON.stringify({ ...run, artifacts: { uri: `s3://${s3.bucket}/cli/runs`, endpoint: s3.endpoint } }),
      );
      const byConfig = path.join(root, 'by-config');
      const json = await runCommand(exportCommand, ['done', '--config', configFile, '--out', byConfig, '--json']);
      assert.equal(JSON.parse(json.join('\n')).runDir, `s3://${s3.bucket}/cli/runs/done`);
      assertSameFolders(reference.outDir, byConfig, 'by --config');

      await assert.rejects(
        runCommand(exportCommand, ['done', '--config', configFile, '--out', byConfig, '--endpoint', s3.endpoint]),
        /--endpoint, --region and --path-style go without --config/,
      );
    });

    test('an object changed behind the store is refused; a URI with nothing under it says so', async () => {
      const root = tmp('s3-export-bad-');
      const local = classificationRunDir(root, 'single');
      const bucket = openStore({ uri: `s3://${s3.bucket}/`, endpoint: s3.endpoint });
      await upload(bucket, local, 'changed/runs/done/');
      // versitygw's POSIX backend: the object is this file; its recorded sha256 (sidecar metadata) stays
      const file = path.join(s3.root, 'data', s3.bucket, 'changed', 'runs', 'done', 'synthetic', 'final.jsonl');
      writeFileSync(file, readFileSync(file, 'utf8').replace('synthetic ham 0', 'synthetic HAM 0'));
      // without a local copy of the referenced bytes (the earlier tests read the same content, and
      // a local copy would rightly serve the bytes the reference names: store/localcache.ts)
      const localCopy = process.env.S3_STORE_LOCAL_CACHE_BYTES;
      process.env.S3_STORE_LOCAL_CACHE_BYTES = '0';
      try {
        await assert.rejects(
          exportStoredRun(
            { uri: `s3://${s3.bucket}/changed/runs/done/`, endpoint: s3.endpoint },
            path.join(root, 'out'),
          ),
          (err: Error) => {
            assert.ok(err instanceof IntegrityError, String(err));
            assert.match(err.message, /changed\/runs\/done\/synthetic\/final\.jsonl: sha256 mismatch/);
            return true;
          },
        );
      } finally {
        if (localCopy === undefined) delete process.env.S3_STORE_LOCAL_CACHE_BYTES;
        else process.env.S3_STORE_LOCAL_CACHE_BYTES = localCopy;
      }
      await assert.rejects(
        exportStoredRun({ uri: `s3://${s3.bucket}/nothing/here/`, endpoint: s3.endpoint }, path.join(root, 'none')),
        new RegExp(`nothing under s3://${s3.bucket}/nothing/here/`),
      );
    });

    test(
      's3 predict of a student folder and a JSONL file in the bucket prints what it prints for the local copies',
      { skip: finetuneUnavailable() ?? undefined, timeout: 300_000 },
      async () => {
        const root = tmp('s3-predict-store-');
        const student = path.join(root, 'runs', 'ft', 'student');
        // a tiny random BERT, exported as the Python worker exports the kept model (s3_finetune/export.py)
        execFileSync(
          FINETUNE_PYTHON,
          [
            '-c',
            [
              'import sys',
              'from transformers import AutoModelForSequenceClassification, AutoTokenizer',
              'from s3_finetune.testing import make_tiny_model',
              'from s3_finetune.export import export_onnx',
              'base = make_tiny_model(sys.argv[1])',
              "m = AutoModelForSequenceClassification.from_pretrained(base, id2label={0: 'ham', 1: 'spam'}, label2id={'ham': 0, 'spam': 1})",
              "export_onnx(m, AutoTokenizer.from_pretrained(base), sys.argv[2], meta={'maxLength': 32, 'maxChars': 400})",
            ].join('\n'),
            path.join(root, 'base'),
            student,
          ],
          { cwd: os.tmpdir(), stdio: ['ignore', 'ignore', 'pipe'] },
        );
        const rows = [
          { id: 'a', text: 'free money click here to win', label: 'spam' },
          { id: 'b', text: 'the meeting is tomorrow at the house', label: 'ham' },
          { id: 'c', text: 'hello, good movie today' },
        ];
        const file = path.join(root, 'examples.jsonl');
        writeFileSync(file, rows.map((r) => JSON.stringify(r) + '\n').join(''));
        const bucket = openStore({ uri: `s3://${s3.bucket}/`, endpoint: s3.endpoint });
        const uploaded = await upload(bucket, student, 'predict/runs/ft/student/');
        await bucket.put('predict/examples.jsonl', readFileSync(file));

        const expected = await predictLines(await loadExportedStudent(student), await readPredictRows(file));
        assert.equal(expected.length, rows.length + 1, 'one line per row, then the accuracy');

        const cacheDir = path.join(root, 'cache');
        const studentUri = `s3://${s3.bucket}/predict/runs/ft/student/`;
        const opts = { endpoint: s3.endpoint, cacheDir };
        const copied = await studentFolderOf(studentUri, opts);
        assert.equal(copied, cacheDir);
        assert.deepEqual(filesUnder(copied), filesUnder(student), 'the student folder is copied whole');
        assert.equal(uploaded, filesUnder(student).length);
        const got = await predictLines(
          await loadExportedStudent(copied),
          await readPredictRows(`s3://${s3.bucket}/predict/examples.jsonl`, opts),
        );
        assert.deepEqual(got, expected);

        // the command as a user runs it: both arguments in the bucket
        const printed = await runCommand(predictCommand, [
          studentUri,
          `s3://${s3.bucket}/predict/examples.jsonl`,
          '--endpoint',
          s3.endpoint,
          '--cache-dir',
          path.join(root, 'cache-cli'),
        ]);
        assert.deepEqual(printed, expected);
      },
    );
  },
);
