/**
 * Temporal over mutual TLS, for real: a TLS-terminating proxy on loopback (node:tls, ALPN h2,
 * client certificates required and checked against a test CA made here with openssl) in front of
 * a dev server, reached through a temporal.toml profile (workers/connection.ts, @temporalio/envconfig):
 * - the client (Connection, what the CLI uses) and the worker's core connection (NativeConnection)
 *   connect with the profile's certificates, and fail without a client certificate;
 * - the CLI (`s3 progress`), given only TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE, reaches the server
 *   through the proxy (it answers "workflow not found" for an unknown id, not a connection error),
 *   and does not start a local dev server for a TLS address nobody answers on.
 * Skipped with a message when openssl is not installed.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { loadTemporalConnection } from '../../workers/connection.js';
import { startDevServer } from '../helpers/temporal.js';

const OPENSSL = spawnSync('openssl', ['version']).status === 0;
const skip = OPENSSL ? false : 'openssl is not installed: no certificates for the TLS proxy';

const dir = mkdtempSync(path.join(os.tmpdir(), 's3-tls-'));
const file = (name: string) => path.join(dir, name);
let env: TestWorkflowEnvironment | undefined;
let proxy: tls.Server | undefined;
let proxyAddress = '';

function openssl(args: string[]) {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A test CA, a server certificate for "localhost" / 127.0.0.1 and a client certificate, all signed by the CA. */
function makeCertificates() {
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=s3-test-ca'].concat([
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    ]),
  );
  for (const who of ['server', 'client']) {
    openssl(
      ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${who === 'server' ? 'localhost' : 's3-worker'}`].concat([
        '-keyout',
        `${who}.key`,
        '-out',
        `${who}.csr`,
      ]),
    );
    writeFileSync(
      file(`${who}.ext`),
      who === 'server' ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n',
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${who}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
      ].concat(['-extfile', `${who}.ext`, '-out', `${who}.pem`]),
    );
  }
}

before(async () => {
  if (skip) return;
  makeCertificates();
  env = await startDevServer();
  const [host, port] = env.address.split(':');
  proxy = tls.createServer(
    {
      key: readFileSync(file('server.key')),
      cert: readFileSync(file('server.pem')),
      ca: readFileSync(file('ca.pem')),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (socket) => {
      const upstream = net.connect(Number(port), host === 'localhost' ? '127.0.0.1' : host);
      socket.pipe(upstream).pipe(socket);
      const close = () => (socket.destroy(), upstream.destroy());
      socket.on('error', close);
      upstream.on('error', close);
    },
  );
  await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', resolve));
  proxyAddress = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  writeFileSync(
    file('temporal.toml'),
    [
      '[profile.secure]',
      `address = "${proxyAddress}"`,
      'namespace = "default"',
      '[profile.secure.tls]',
      `client_cert_path = "${file('client.pem')}"`,
      `client_key_path = "${file('client.key')}"`,
      `server_ca_cert_path = "${file('ca.pem')}"`,
      'server_name = "localhost"',
      '',
      '[profile.nocert]',
      `address = "${proxyAddress}"`,
      '[profile.nocert.tls]',
      `server_ca_cert_path = "${file('ca.pem')}"`,
      'server_name = "localhost"',
      '',
    ].join('\n'),
  );
});

after(async () => {
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await env?.teardown();
});

const profile = (name: string) => ({ TEMPORAL_CONFIG_FILE: file('temporal.toml'), TEMPORAL_PROFILE: name });

test('client and worker connections over mutual TLS from a temporal.toml profile', { skip }, async () => {
  const c = loadTemporalConnection({ env: profile('secure') });
  assert.equal(c.tls, true);
  assert.equal(c.address, proxyAddress);

  const client = await Connection.connect({ ...c.client, connectTimeout: 10_000 });
  const info = await client.workflowService.getSystemInfo({});
  assert.ok(info.serverVersion, 'the server answered through the TLS proxy');
  const ns = await client.workflowService.describeNamespace({ namespace: c.namespace });
  assert.equal(ns.namespaceInfo?.name, 'default');
  await client.close();

  // the worker's connection is the Rust core's own TLS stack: it checks the server on connect
  const native = await NativeConnection.connect(c.native);
  await native.close();

  // the proxy requires a client certificate: without one the handshake fails
  const noCert = loadTemporalConnection({ env: profile('nocert') });
  assert.equal(noCert.tls, true);
  await assert.rejects(async () => {
    const conn = await Connection.connect({ ...noCert.client, connectTimeout: 3_000 });
    try {
      await conn.workflowService.getSystemInfo({}, { timeout: 3_000 } as never);
    } finally {
      await conn.close();
    }
  });
});

test(
  'the CLI connects through the profile (TLS) and starts no dev server for an unreachable TLS address',
  { skip },
  async () => {
    const cli = (extraEnv: Record<string, string>, args: string[]) => {
      const childEnv: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
      for (const k of Object.keys(childEnv))
        if (/^TEMPORAL_(ADDRESS|NAMESPACE|API_KEY|TLS)/.test(k)) delete childEnv[k];
      // asynchronously: the TLS proxy runs in this process and must keep forwarding meanwhile
      return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          ['--import', 'tsx', 'scripts/s3.ts', ...args],
          { cwd: PROJECT_ROOT, encoding: 'utf8', env: childEnv, timeout: 60_000 },
          (err, stdout, stderr) =>
            resolve({ status: err ? ((err.code as number | undefined) ?? 1) : 0, stdout, stderr }),
        ),
      );
    };
    const found = await cli(profile('secure'), ['progress', 'no-such-run']);
    assert.equal(found.status, 1, found.stderr);
    assert.match(found.stderr, /workflow not found for ID: no-such-run/);

    // a TLS address where nothing answers (a port just freed): a clear error, and no `temporal server start-dev`
    const free = net.createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    const start = await cli(profile('secure'), [
      '--address',
      `127.0.0.1:${port}`,
      'start',
      'configs/spamassassin.json',
      '--db',
      file('never.db'),
    ]);
    assert.notEqual(start.status, 0);
    assert.match(start.stderr + start.stdout, /cannot reach Temporal at 127\.0\.0\.1:\d+, namespace "default" \(TLS\)/);
    assert.doesNotMatch(start.stderr + start.stdout, /dev server started/);
  },
);
