import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StateIdentityStore } from '../../../application/hub/state-identity-store.js';
import { StateStore } from '../../../application/ports/state-store.js';
import { SecretCipher } from '../../../application/ports/secret-cipher.js';
import { Logger } from '../../../application/ports/logger.js';
import { ModuleRuntime } from '../../../application/ports/module-runtime.js';
import { ModuleIdentities } from '../../../application/workload/module-identities.js';
import { WorkloadApi, WorkloadApiOptions } from '../../../adapters/http/workload-api.js';
import { SocketListenError } from '../../../adapters/http/unix-socket-http.js';
import { until } from '../../support/agent/process-fixtures.js';
import { EDGE_DEVICE, startRuntime, type TestRuntime } from '../../support/management/runtime-harness.js';

const BIN = fileURLToPath(new URL('../../../infrastructure/cli/bin.js', import.meta.url));
/** Prints a numbered line every 50 ms until stopped. */
const TICKER = "let n = 0; console.log('started'); setInterval(() => console.log('tick ' + (++n)), 50)";

let runtime: TestRuntime;
let configFile: string;
const scratch = mkdtempSync(join(tmpdir(), 'edgeport-mgmt-cli-'));

before(async () => {
  runtime = await startRuntime({
    modules: {
      app: { type: 'process', status: 'running', restartPolicy: 'always', version: '1.0', settings: { command: process.execPath, args: ['-e', TICKER] } },
      crasher: { type: 'process', status: 'running', restartPolicy: 'on-failure', version: '1.0', settings: { command: process.execPath, args: ['-e', 'process.exit(139)'] } },
      idle: { type: 'process', status: 'stopped', restartPolicy: 'never', version: '1.0', settings: { command: process.execPath, args: ['-e', '0'] } },
    },
  });
  configFile = join(scratch, 'edgeport.toml');
  writeFileSync(configFile, `dataDir = ${JSON.stringify(runtime.dir)}\ndeviceId = "${EDGE_DEVICE}"\n`);
});

after(async () => {
  await runtime?.close();
  rmSync(scratch, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function http(socketPath: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath, method, path, headers: text === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

interface CliRun {
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  stdout(): string;
  kill(signal: NodeJS.Signals): void;
}

function startCli(args: string[], timeoutMs = 15_000): CliRun {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDGEPORT_')) env[k] = v;
  const child = spawn(process.execPath, [BIN, ...args], { cwd: scratch, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { done, stdout: () => stdout, kill: (signal) => child.kill(signal) };
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return startCli(args).done;
}

async function pidOf(name: string): Promise<number> {
  return Number((await runtime.get(ModuleRuntime).list()).find((m) => m.name === name)?.state.id);
}

test('both sockets exist with mode 0660; no TCP listener is involved', () => {
  for (const path of [runtime.sockets.workload, runtime.sockets.management]) {
    const stat = statSync(path);
    assert.ok(stat.isSocket(), `${path} is a socket`);
    assert.equal(stat.mode & 0o777, 0o660);
  }
});

test('workload API: trust bundle, sign with the module key, 404 for wrong generation or module, 400 for bad bodies', async () => {
  const bundle = await http(runtime.sockets.workload, 'GET', '/trust-bundle?api-version=2018-06-28');
  assert.equal(bundle.status, 200);
  assert.match(String(bundle.headers['content-type']), /^application\/json/);
  assert.equal((JSON.parse(bundle.body) as { certificate: string }).certificate, runtime.ca);

  // Without the hub, identities go to the same database through the fallback StateIdentityStore.
  const generationId = (await runtime.get(ModuleIdentities).generationOf('app'))!;
  assert.ok(generationId !== undefined);
  const key = (await new StateIdentityStore(runtime.get(StateStore), runtime.get(SecretCipher)).get({ kind: 'module', deviceId: EDGE_DEVICE, moduleId: 'app' }))?.primaryKey;
  assert.ok(key !== undefined);
  const data = Buffer.from('edgeport-test.azure-devices.net%2Fdevices%2Fedge1%2Fmodules%2Fapp\n1795677069').toString('base64');
  const signed = await http(runtime.sockets.workload, 'POST', `/modules/app/genid/${generationId}/sign?api-version=2018-06-28`, { keyId: 'primary', algo: 'HMACSHA256', data });
  assert.equal(signed.status, 200);
  assert.equal((JSON.parse(signed.body) as { digest: string }).digest, createHmac('sha256', Buffer.from(key, 'base64')).update(Buffer.from(data, 'base64')).digest('base64'));

  assert.equal((await http(runtime.sockets.workload, 'POST', `/modules/app/genid/wrong/sign?api-version=2018-06-28`, { keyId: 'primary', algo: 'HMACSHA256', data })).status, 404);
  assert.equal((await http(runtime.sockets.workload, 'POST', `/modules/ghost/genid/${generationId}/sign?api-version=2018-06-28`, { keyId: 'primary', algo: 'HMACSHA256', data })).status, 404);
  assert.equal((await http(runtime.sockets.workload, 'POST', `/modules/app/genid/${generationId}/sign`, { keyId: 'primary', algo: 'RSA', data })).status, 400);
  assert.equal((await http(runtime.sockets.workload, 'POST', `/modules/app/genid/${generationId}/sign`, 'nope')).status, 400);
  assert.equal((await http(runtime.sockets.workload, 'GET', `/modules/app/genid/${generationId}/sign`)).status, 405);
  assert.equal((await http(runtime.sockets.workload, 'GET', '/identities')).status, 404);
});

test('a second workload API on the same socket is refused; the running one keeps working', async () => {
  const second = new WorkloadApi(runtime.get(ModuleIdentities), new WorkloadApiOptions(runtime.sockets.workload, async () => 'x'), runtime.get(Logger));
  await assert.rejects(second.start(), (error: unknown) => error instanceof SocketListenError && /another process/.test(error.message));
  assert.equal((await http(runtime.sockets.workload, 'GET', '/trust-bundle')).status, 200);
  const long = new WorkloadApi(runtime.get(ModuleIdentities), new WorkloadApiOptions(join(scratch, 'x'.repeat(120), 'workload.sock'), async () => 'x'), runtime.get(Logger));
  await assert.rejects(long.start(), /longer than 107 bytes; choose a shorter dataDir/);
});

test('management API: GET /modules lists system modules and modules with status, description and config', async () => {
  await until(async () => {
    const body = JSON.parse((await http(runtime.sockets.management, 'GET', '/modules')).body) as { modules: Array<{ name: string; status: string }> };
    return body.modules.find((m) => m.name === 'crasher')?.status === 'backoff';
  }, 10_000, 'crasher in backoff');
  const answer = await http(runtime.sockets.management, 'GET', '/modules');
  assert.equal(answer.status, 200);
  const modules = (JSON.parse(answer.body) as { modules: Array<Record<string, unknown>> }).modules;
  assert.deepEqual(modules.map((m) => m['name']), ['edgeAgent', 'app', 'crasher', 'idle']);
  const app = modules.find((m) => m['name'] === 'app')!;
  assert.equal(app['status'], 'running');
  assert.match(String(app['description']), /^Up /);
  assert.equal(app['config'], `${process.execPath} -e ${JSON.stringify(TICKER)}`);
  assert.equal(app['type'], 'process');
  const crasher = modules.find((m) => m['name'] === 'crasher')!;
  assert.equal(crasher['exitCode'], 139);
  assert.match(String(crasher['description']), /^Backoff, restart in \d+ s$/);
  assert.equal(modules.find((m) => m['name'] === 'idle')?.['status'], 'stopped');
  assert.equal(modules.find((m) => m['name'] === 'edgeAgent')?.['status'], 'running');
});

test('management API: logs with tail, since and follow (streamed NDJSON); 404 and 400', async () => {
  await until(async () => (await http(runtime.sockets.management, 'GET', '/modules/app/logs?tail=all')).body.split('\n').length > 4, 5000, 'a few ticks');
  const tail = await http(runtime.sockets.management, 'GET', '/modules/app/logs?tail=2');
  assert.equal(tail.status, 200);
  assert.match(String(tail.headers['content-type']), /^application\/x-ndjson/);
  const lines = tail.body.trim().split('\n').map((l) => JSON.parse(l) as { text: string; stream: string; time: number });
  assert.equal(lines.length, 2);
  assert.match(lines[1]!.text, /^tick \d+$/);
  assert.equal(lines[1]!.stream, 'stdout');
  const future = await http(runtime.sockets.management, 'GET', `/modules/app/logs?since=${Date.now() / 1000 + 3600}`);
  assert.equal(future.body, '');

  // follow: lines keep arriving on the open response; closing it ends the stream.
  const followed = await new Promise<string[]>((resolve, reject) => {
    const req = request({ socketPath: runtime.sockets.management, path: '/modules/app/logs?tail=0&follow=true' }, (res) => {
      const got: string[] = [];
      let buffer = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        const parts = buffer.split('\n');
        buffer = parts.pop()!;
        got.push(...parts.map((p) => (JSON.parse(p) as { text: string }).text));
        if (got.length >= 3) {
          req.destroy();
          resolve(got);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(followed.length >= 3, true);
  assert.ok(followed.every((t) => /^tick \d+$/.test(t)));

  assert.equal((await http(runtime.sockets.management, 'GET', '/modules/ghost/logs')).status, 404);
  assert.equal((await http(runtime.sockets.management, 'GET', '/modules/app/logs?tail=-1')).status, 400);
  assert.equal((await http(runtime.sockets.management, 'GET', '/modules/app/logs?since=someday')).status, 400);
});

test('management API: POST /modules/{m}/restart restarts through the agent; 404 for unknown modules', async () => {
  const before = await pidOf('app');
  const answer = await http(runtime.sockets.management, 'POST', '/modules/app/restart');
  assert.equal(answer.status, 200);
  assert.notEqual(await pidOf('app'), before);
  assert.equal((await http(runtime.sockets.management, 'POST', '/modules/ghost/restart')).status, 404);
  assert.equal((await http(runtime.sockets.management, 'GET', '/modules/app/restart')).status, 405);
  assert.equal((await http(runtime.sockets.management, 'GET', '/nothing')).status, 404);
});

test('CLI: edgeport list prints the NAME STATUS DESCRIPTION CONFIG table', async () => {
  const { code, stdout, stderr } = await cli(['list', '-c', configFile]);
  assert.equal(code, 0, stderr);
  const rows = stdout.trimEnd().split('\n');
  assert.match(rows[0]!, /^NAME\s+STATUS\s+DESCRIPTION\s+CONFIG$/);
  assert.match(stdout, /\napp\s+running\s+Up [^\n]+\s{4}\S/);
  assert.match(stdout, /\ncrasher\s+(backoff\s+Backoff, restart in \d+ s|running\s+Up)/);
  assert.match(stdout, /\nidle\s+stopped\s+Stopped/);
  assert.match(stdout, /\nedgeAgent\s+running\s+Up/);
});

test('CLI: edgeport list --json gives times in RFC 3339, not epoch milliseconds', async () => {
  const { code, stdout, stderr } = await cli(['list', '--json', '-c', configFile]);
  assert.equal(code, 0, stderr);
  const rows = JSON.parse(stdout) as Array<Record<string, unknown>>;
  const app = rows.find((r) => r['name'] === 'app');
  assert.ok(app !== undefined, stdout);
  const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
  assert.match(String(app['startedAt']), rfc3339);
  assert.ok(Math.abs(Date.parse(String(app['startedAt'])) - Date.now()) < 10 * 60_000, 'a time near now');
  for (const row of rows) {
    for (const field of ['startedAt', 'exitedAt', 'restartAt']) {
      if (row[field] !== undefined) assert.match(String(row[field]), rfc3339, `${String(row['name'])}.${field}`);
    }
  }
});

test('CLI: edgeport logs --tail / --since / --follow, and edgeport restart', async () => {
  const tail = await cli(['logs', 'app', '--tail', '3', '-c', configFile]);
  assert.equal(tail.code, 0, tail.stderr);
  assert.equal(tail.stdout.trimEnd().split('\n').length, 3);
  assert.match(tail.stdout, /^tick \d+\n/);
  const since = await cli(['logs', 'app', '--since', '10m', '-c', configFile]);
  assert.equal(since.code, 0, since.stderr);
  assert.ok(since.stdout.includes('started'));
  const future = await cli(['logs', 'app', '--since', new Date(Date.now() + 3_600_000).toISOString(), '-c', configFile]);
  assert.equal(future.stdout, '');

  // --follow keeps printing new lines until interrupted.
  const follow = startCli(['logs', 'app', '--tail', '0', '--follow', '-c', configFile]);
  await until(() => (follow.stdout().match(/tick \d+\n/g) ?? []).length >= 3, 10_000, 'followed lines');
  follow.kill('SIGINT');
  const followed = await follow.done;
  assert.equal(followed.signal, 'SIGINT');

  const restart = await cli(['restart', 'app', '-c', configFile]);
  assert.equal(restart.code, 0, restart.stderr);
  assert.equal(restart.stdout, 'app\n');
  assert.equal((await runtime.get(ModuleRuntime).list()).find((m) => m.name === 'app')?.state.status, 'running');
});

test('CLI: clear errors for unknown modules, bad options and no running runtime', async () => {
  const unknown = await cli(['restart', 'ghost', '-c', configFile]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /module ghost does not exist/);
  const badSince = await cli(['logs', 'app', '--since', 'someday', '-c', configFile]);
  assert.equal(badSince.code, 2);
  assert.match(badSince.stderr, /--since must be a duration such as 10m/);
  const badTail = await cli(['logs', 'app', '--tail', 'many', '-c', configFile]);
  assert.equal(badTail.code, 2);

  const elsewhere = join(scratch, 'other.toml');
  writeFileSync(elsewhere, `dataDir = ${JSON.stringify(join(scratch, 'nothing-here'))}\n`);
  const none = await cli(['list', '-c', elsewhere]);
  assert.equal(none.code, 1);
  assert.equal(none.stderr, `no Edgeport runtime is running: cannot reach ${join(scratch, 'nothing-here', 'sockets', 'management.sock')}\n`);
  const badConfig = await cli(['list', '-c', join(scratch, 'missing.toml')]);
  assert.equal(badConfig.code, 2);
});

test('CLI: list shows the embedded edgeHub after edgeAgent; logs reads a process module\'s files while the runtime is stopped', async () => {
  // stderr a moment after stdout: the two pipes are read separately, the file keeps capture order.
  const talker = "for (let i = 1; i <= 5; i++) console.log('talk ' + i); setTimeout(() => console.error('warn 1'), 200); setInterval(() => undefined, 1000)";
  const stopped = await startRuntime({ hub: true, modules: { talker: { type: 'process', status: 'running', restartPolicy: 'always', version: '1.0', settings: { command: process.execPath, args: ['-e', talker] } } } });
  const config = join(scratch, 'stopped.toml');
  writeFileSync(config, `dataDir = ${JSON.stringify(stopped.dir)}\ndeviceId = "${EDGE_DEVICE}"\n`);
  try {
    await until(async () => (await http(stopped.sockets.management, 'GET', '/modules/talker/logs')).body.includes('warn 1'), 10_000, 'talker output');
    const modules = (JSON.parse((await http(stopped.sockets.management, 'GET', '/modules')).body) as { modules: Array<Record<string, unknown>> }).modules;
    assert.deepEqual(modules.map((m) => m['name']), ['edgeAgent', 'edgeHub', 'talker']);
    const hub = modules.find((m) => m['name'] === 'edgeHub')!;
    assert.equal(hub['status'], 'running');
    assert.equal(hub['system'], true);
    assert.equal(hub['config'], 'edgeport (embedded)');
    assert.equal(hub['startedAt'], modules[0]!['startedAt'], 'the embedded hub runs in the agent\'s process');
    const list = await cli(['list', '-c', config]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /\nedgeAgent\s+running\s+Up[^\n]*\nedgeHub\s+running\s+Up[^\n]*edgeport \(embedded\)\ntalker\s+running\s+Up/);

    await stopped.stop();
    const notRunning = await cli(['list', '-c', config]);
    assert.equal(notRunning.code, 1, 'list needs the runtime');
    const offline = await cli(['logs', 'talker', '--tail', '3', '-c', config]);
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(offline.stdout, 'talk 4\ntalk 5\n', 'the last three lines: two on stdout...');
    assert.equal(offline.stderr, 'warn 1\n', '...and one on stderr');
    const all = await cli(['logs', 'talker', '--follow', '-c', config]);
    assert.equal(all.code, 0, 'nothing to follow: prints what is on disk and exits');
    assert.equal(all.stdout, 'talk 1\ntalk 2\ntalk 3\ntalk 4\ntalk 5\n');
    const future = await cli(['logs', 'talker', '--since', new Date(Date.now() + 3_600_000).toISOString(), '-c', config]);
    assert.equal(future.code, 0);
    assert.equal(future.stdout + future.stderr, '');
    const ghost = await cli(['logs', 'ghost', '-c', config]);
    assert.equal(ghost.code, 1);
    assert.match(ghost.stderr, /^no Edgeport runtime is running: cannot reach .*management\.sock, and module ghost has no log files at .*ghost\.log\n$/);
  } finally {
    await stopped.close();
  }
});
