/**
 * `s3 store start|status|env|stop` and `s3 pull` as a user runs them (child processes of the CLI),
 * on a REAL S3-compatible server: the versitygw the store command starts (state in a throwaway
 * folder through $S3_OBJECT_STORE_RUN_DIR, a free port). A run's artifacts written to the bucket
 * come back byte for byte, checked against the store's record and report.json's reference; an
 * object changed behind the store's back is refused. Skipped, with the reason, when versitygw is
 * not built.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { openStore } from '../../store/index.js';
import { OBJECT_STORE_SKIP } from '../helpers/objectStore.js';

const runDir = mkdtempSync(path.join(os.tmpdir(), 's3-store-cli-'));
let pid: number | undefined;

after(() => {
  // the store runs detached: never leave it behind
  if (pid)
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already stopped
    }
});

/** Whether `pid` runs (a zombie left for an init that does not reap counts as gone). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** `s3 <args>` from `cwd`; resolves with its exit code and output (never rejects on a non-zero exit). */
function s3(args: string[], env: NodeJS.ProcessEnv, cwd = PROJECT_ROOT): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), path.join(PROJECT_ROOT, 'scripts', 's3.ts'), ...args],
      { cwd, env: { ...env, NODE_NO_WARNINGS: '1' }, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, out: stdout + stderr });
      },
    );
  });
}

test(
  's3 store start/status/env/stop and s3 pull against it',
  { skip: OBJECT_STORE_SKIP ?? false, timeout: 240_000 },
  async () => {
    const base: NodeJS.ProcessEnv = { ...process.env, S3_OBJECT_STORE_RUN_DIR: runDir };
    for (const k of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_PROFILE',
      'AWS_ENDPOINT_URL_S3',
    ])
      delete base[k];
    const port = await freePort();

    const before = await s3(['store', 'status'], base);
    assert.equal(before.code, 3, before.out);
    assert.match(before.out, /object store not running/);

    const started = await s3(['store', 'start', '--port', String(port)], base);
    assert.equal(started.code, 0, started.out);
    assert.match(
      started.out,
      new RegExp(`object store started: http://127\\.0\\.0\\.1:${port} \\(pid (\\d+)\\), bucket s3://s3-synth`),
    );
    pid = Number(/\(pid (\d+)\)/.exec(started.out)![1]);
    assert.doesNotMatch(started.out, /AWS_SECRET_ACCESS_KEY=[0-9a-f]{8}/, 'start does not print the secret');
    const stateFile = path.join(runDir, 'store.json');
    assert.equal(statSync(stateFile).mode & 0o777, 0o600, 'the state file (with the credentials) is private');
    assert.ok(existsSync(path.join(runDir, 'data', 's3-synth')), 'the bucket is a folder under data/');

    const again = await s3(['store', 'start', '--port', String(port)], base);
    assert.match(again.out, new RegExp(`object store already running: .* \\(pid ${pid}\\)`));
    const status = await s3(['store', 'status'], base);
    assert.equal(status.code, 0, status.out);
    assert.match(status.out, new RegExp(`object store running: http://127\\.0\\.0\\.1:${port} \\(pid ${pid}\\)`));

    const envOut = (await s3(['store', 'env'], base)).out;
    const vars = Object.fromEntries([...envOut.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
    assert.equal(vars.AWS_ENDPOINT_URL_S3, `http://127.0.0.1:${port}`);
    assert.ok(vars.AWS_ACCESS_KEY_ID && vars.AWS_SECRET_ACCESS_KEY, envOut);
    const env = { ...base, ...vars };

    // a finished run's artifacts in the bucket, as the workers write them
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = vars.AWS_ACCESS_KEY_ID;
    process.env.AWS_SECRET_ACCESS_KEY = vars.AWS_SECRET_ACCESS_KEY;
    try {
      const store = openStore({ uri: 's3://s3-synth/runs/', endpoint: vars.AWS_ENDPOINT_URL_S3 });
      const final = await store.putJsonl('r1/synthetic/final.jsonl', [
        { text: 'a fine film', label: 'positive' },
        { text: 'a dull film', label: 'negative' },
      ]);
      await store.put('r1/report.json', JSON.stringify({ runId: 'r1', dataset: final }, null, 2));
      await store.put('r1/report.md', '# r1\n');
      await store.put('r10/report.md', '# another run\n');
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }

    const cwd = mkdtempSync(path.join(os.tmpdir(), 's3-pull-cwd-'));
    const pulled = await s3(['pull', 'r1', '--uri', 's3://s3-synth/runs'], env, cwd);
    assert.equal(pulled.code, 0, pulled.out);
    assert.match(pulled.out, /copied +\d+ +synthetic\/final\.jsonl +\(sha256 ✓ store\+reference\)/);
    assert.match(
      pulled.out,
      /pulled 3 files, .* \(\d+ bytes; 3 new or changed\) from s3:\/\/s3-synth\/runs\/r1\/ into /,
    );
    assert.match(pulled.out, /sha256 verified: 3 against the store's record, 1 against references/);
    const data = path.join(runDir, 'data', 's3-synth', 'runs', 'r1');
    for (const f of ['report.json', 'report.md', 'synthetic/final.jsonl'])
      assert.equal(
        readFileSync(path.join(cwd, 'runs', 'r1', f), 'utf8'),
        readFileSync(path.join(data, f), 'utf8'),
        `${f} pulled into runs/r1 byte for byte`,
      );
    assert.equal(existsSync(path.join(cwd, 'runs', 'r10')), false);
    const rerun = await s3(['pull', 'r1', '--uri', 's3://s3-synth/runs', '--quiet'], env, cwd);
    assert.match(rerun.out, /3 files, .*; 0 new or changed/);

    // an object changed behind the store's back (its recorded sha256 no longer matches)
    writeFileSync(path.join(data, 'synthetic', 'final.jsonl'), '{"text":"changed","label":"positive"}\n');
    const refused = await s3(['pull', 'r1', 'changed', '--uri', 's3://s3-synth/runs'], env, cwd);
    assert.equal(refused.code, 1, refused.out);
    assert.match(refused.out, /error: s3:\/\/s3-synth\/runs\/r1\/synthetic\/final\.jsonl: sha256 mismatch/);
    assert.equal(existsSync(path.join(cwd, 'changed', 'synthetic', 'final.jsonl')), false);

    const missing = await s3(['pull', 'nope', '--uri', 's3://s3-synth/runs'], env, cwd);
    assert.equal(missing.code, 1);
    assert.match(missing.out, /nothing under s3:\/\/s3-synth\/runs\/nope\//);

    const stopped = await s3(['store', 'stop'], base);
    assert.match(stopped.out, new RegExp(`object store stopped \\(pid ${pid}\\)`));
    assert.equal(running(pid!), false, 'the gateway process is gone');
    pid = undefined;
    assert.equal((await s3(['store', 'status'], base)).code, 3);
  },
);
