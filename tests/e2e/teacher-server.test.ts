/**
 * The shared teacher server: llama.cpp's own llama-server (scripts/teacher-server.ts) and the
 * 'llama-server' teacher provider (teacher/llamaServer.ts). The option defaults, the missing
 * binary error and stale pid files are tested without the binary; the real server tests skip
 * unless `S3_LLAMA_TOOLS=1 bash scripts/setup.sh` has built .tools/llama.cpp/bin/llama-server
 * and the default GGUF is installed (S3_TEACHER_MODEL picks another GGUF).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { LlamaServerTeacherSchema } from '../../config/schema.js';
import {
  LLAMA_SERVER_BIN,
  startTeacherServer,
  stopTeacherServer,
  teacherServerStatus,
  DEFAULT_SERVER_MODEL,
} from '../../scripts/teacher-server.js';
import { TeacherUnavailableError } from '../../teacher/errors.js';
import { LlamaServerTeacher, llamaServerTeacherOptions } from '../../teacher/llamaServer.js';

const modelPath = process.env.S3_TEACHER_MODEL ?? DEFAULT_SERVER_MODEL;
const haveBinary = fs.existsSync(LLAMA_SERVER_BIN);
const skip = !haveBinary
  ? `llama-server not built (${LLAMA_SERVER_BIN}); build it with S3_LLAMA_TOOLS=1 bash scripts/setup.sh`
  : !fs.existsSync(modelPath)
    ? `no teacher GGUF at ${modelPath}; run scripts/setup.sh`
    : false;
const params = { temperature: 0.9, topP: 0.95, maxTokens: 24 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's3-teacher-server-'));
const stateFile = path.join(tmp, 'teacher-server.json');

after(async () => {
  await stopTeacherServer({ stateFile }).catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A loopback port nothing listens on right now. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** The pid of a process that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('llamaServerTeacherOptions: defaults name the GGUF, explicit settings win', () => {
  const d = llamaServerTeacherOptions(
    LlamaServerTeacherSchema.parse({ provider: 'llama-server' }),
    '/m/SmolLM2-135M-Instruct.Q4_1.gguf',
  );
  assert.deepEqual(d, {
    baseURL: 'http://127.0.0.1:8091/v1',
    model: 'SmolLM2-135M-Instruct.Q4_1.gguf',
    modelId: 'llama-server:SmolLM2-135M-Instruct.Q4_1.gguf',
    modelPath: '/m/SmolLM2-135M-Instruct.Q4_1.gguf',
    apiKeyEnv: 'OPENAI_API_KEY',
    timeoutMs: 120_000,
  });
  const o = llamaServerTeacherOptions(
    LlamaServerTeacherSchema.parse({
      provider: 'llama-server',
      modelPath: '/x/other.gguf',
      baseURL: 'http://10.0.0.2:9000/v1',
      timeoutMs: 5000,
      apiKeyEnv: 'LLAMA_KEY',
    }),
    '/m/default.gguf',
  );
  assert.equal(o.baseURL, 'http://10.0.0.2:9000/v1');
  assert.equal(o.model, 'other.gguf');
  assert.equal(o.modelId, 'llama-server:other.gguf');
  assert.equal(o.timeoutMs, 5000);
  assert.equal(o.apiKeyEnv, 'LLAMA_KEY');
  const named = llamaServerTeacherOptions(
    LlamaServerTeacherSchema.parse({ provider: 'llama-server', model: 'smol' }),
    '/m/a.gguf',
  );
  assert.equal(named.model, 'smol');
  assert.equal(named.modelId, 'llama-server:a.gguf', 'the cache key names the GGUF, not the alias');
  const teacher = new LlamaServerTeacher(d);
  assert.equal(teacher.modelId, 'llama-server:SmolLM2-135M-Instruct.Q4_1.gguf');
});

test('missing llama-server binary: the error says how to build it', async () => {
  await assert.rejects(
    startTeacherServer({ binary: path.join(tmp, 'no-such-llama-server'), stateFile, modelPath }),
    (err: Error) => err.message.includes('S3_LLAMA_TOOLS=1 bash scripts/setup.sh'),
  );
  assert.equal(fs.existsSync(stateFile), false);
});

test('stale pid file: status reports it, stop removes it', async () => {
  const pid = await deadPid();
  fs.writeFileSync(stateFile, JSON.stringify({ pid, port: 1, host: '127.0.0.1', modelPath, startedAt: 'x' }));
  const s = await teacherServerStatus({ stateFile });
  assert.equal(s.running, false);
  assert.equal(s.stale, true);
  // a live pid that is not a llama-server (this test process) is not taken for one either
  fs.writeFileSync(
    stateFile,
    JSON.stringify({ pid: process.pid, port: 1, host: '127.0.0.1', modelPath, startedAt: 'x' }),
  );
  assert.equal((await teacherServerStatus({ stateFile })).stale, true);
  const r = await stopTeacherServer({ stateFile });
  assert.deepEqual(r, { stopped: false, pid: process.pid, stale: true });
  assert.equal(fs.existsSync(stateFile), false);
  assert.deepEqual(await stopTeacherServer({ stateFile }), { stopped: false });
});

test('unreachable llama-server: probe fails with a hint on how to start it', async () => {
  const port = await freePort();
  const teacher = new LlamaServerTeacher(
    llamaServerTeacherOptions(
      LlamaServerTeacherSchema.parse({ provider: 'llama-server', baseURL: `http://127.0.0.1:${port}/v1` }),
      modelPath,
    ),
  );
  await assert.rejects(
    teacher.probe({ timeoutMs: 5_000 }),
    (err: Error) => err instanceof TeacherUnavailableError && /teacher-server -- start/.test(err.message),
  );
});

test('real llama-server: start, completions through two teachers, reuse, stop, stale pid file', { skip }, async (t) => {
  const port = await freePort();
  const logFile = path.join(tmp, 'server.log');
  const t0 = performance.now();
  const info = await startTeacherServer({
    modelPath,
    port,
    slots: 2,
    ctxPerSlot: 1024,
    threads: 2,
    stateFile,
    logFile,
  });
  t.diagnostic(`llama-server pid ${info.pid} ready at ${info.baseURL} in ${Math.round(performance.now() - t0)} ms`);
  assert.equal(info.reused, false);
  assert.equal(info.baseURL, `http://127.0.0.1:${port}/v1`);
  const saved = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  assert.equal(saved.pid, info.pid);
  assert.equal(saved.port, port);
  assert.equal(saved.modelPath, path.resolve(modelPath));

  const cfg = LlamaServerTeacherSchema.parse({ provider: 'llama-server', baseURL: info.baseURL });
  const a = new LlamaServerTeacher(llamaServerTeacherOptions(cfg, modelPath));
  const b = new LlamaServerTeacher(llamaServerTeacherOptions(cfg, modelPath));
  assert.equal(a.modelId, `llama-server:${path.basename(modelPath)}`);
  const probe = await a.probe({ timeoutMs: 10_000 });
  t.diagnostic(`probe: ${probe.detail}`);

  const prompts = [
    'Write a one-sentence positive movie review.',
    'Write a one-sentence negative movie review.',
    'List two reasons an e-mail is spam.',
  ];
  const t1 = performance.now();
  const replies = await Promise.all([
    ...prompts.map((prompt, i) => a.complete({ prompt, sampleIndex: i }, params)),
    b.complete({ prompt: prompts[0], sampleIndex: 7 }, params),
  ]);
  t.diagnostic(
    `4 concurrent calls over 2 teachers in ${Math.round(performance.now() - t1)} ms, ` +
      `${replies.reduce((s, r) => s + r.completionTokens, 0)} completion tokens`,
  );
  for (const r of replies) {
    assert.ok(r.text.trim().length > 0, 'non-empty reply');
    assert.ok(r.promptTokens > 8, `templated prompt tokens ${r.promptTokens}`);
    assert.ok(r.completionTokens > 0 && r.completionTokens <= params.maxTokens, `${r.completionTokens}`);
    assert.equal(r.cached, false);
  }

  // a second start for the same model and port reuses the one server
  const again = await startTeacherServer({ modelPath, port, stateFile, logFile });
  assert.equal(again.reused, true);
  assert.equal(again.pid, info.pid);
  const st = await teacherServerStatus({ stateFile });
  assert.equal(st.running, true);
  assert.equal(st.healthy, true);
  assert.equal(st.state?.pid, info.pid);
  // another model on the running server's port is refused, not silently swapped
  await assert.rejects(startTeacherServer({ modelPath: logFile, port, stateFile }), (err: Error) =>
    /already running/.test(err.message),
  );

  await a.close();
  await b.close();
  const stopped = await stopTeacherServer({ stateFile });
  assert.deepEqual(stopped, { stopped: true, pid: info.pid });
  assert.equal(isAlive(info.pid), false);
  assert.equal(fs.existsSync(stateFile), false);
  assert.equal((await teacherServerStatus({ stateFile })).running, false);
  await assert.rejects(a.probe({ timeoutMs: 5_000 }), TeacherUnavailableError);

  // a pid file left by a server that died is replaced by a fresh start
  fs.writeFileSync(stateFile, JSON.stringify({ ...saved, pid: await deadPid() }));
  const fresh = await startTeacherServer({
    modelPath,
    port,
    slots: 1,
    ctxPerSlot: 1024,
    threads: 2,
    stateFile,
    logFile,
  });
  assert.equal(fresh.reused, false);
  assert.notEqual(fresh.pid, info.pid);
  const r = await new LlamaServerTeacher(llamaServerTeacherOptions(cfg, modelPath)).complete(
    { prompt: prompts[2], sampleIndex: 0 },
    params,
  );
  assert.ok(r.completionTokens > 0);
  assert.equal((await stopTeacherServer({ stateFile })).stopped, true);
});
