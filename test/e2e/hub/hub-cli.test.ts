import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliEnv, loopbackListeners } from '../../support/cli/edgeport-cli.js';
import { Client, type Message, ModuleClient, Mqtt } from '../../support/mqtt/sdk.js';
import { within } from '../../support/mqtt/hub-harness.js';

// `edgeport c2d send` and `edgeport method invoke` against a running `edgeport run --only hub`,
// through the management socket, with official SDK clients on the other side.

const BIN = fileURLToPath(new URL('../../../infrastructure/cli/bin.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'edgeport-hubcli-'));
const running: ChildProcess[] = [];
after(() => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI without blocking this process (the SDK clients here must keep answering). */
function edgeport(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/** One raw request on the management socket: status and `{message}`. */
function management(socketPath: string, method: string, path: string, body?: string): Promise<{ status: number; message?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => {
        const message = (JSON.parse(text) as { message?: string }).message;
        resolve(message === undefined ? { status: res.statusCode ?? 0 } : { status: res.statusCode ?? 0, message });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function connectionString(id: string, env: NodeJS.ProcessEnv): Promise<string> {
  const added = await edgeport(['identity', 'add', id], env);
  assert.equal(added.status, 0, added.stderr);
  const line = added.stdout.split('\n').find((l) => l.startsWith('connectionString: '));
  assert.ok(line, added.stdout);
  return line.slice('connectionString: '.length);
}

test('CLI: c2d send reaches an SDK leaf device and method invoke round-trips to an SDK module, against edgeport run --only hub', { timeout: 90_000 }, async () => {
  const env = cliEnv({ ...(await loopbackListeners()), EDGEPORT_LOG_FORMAT: 'json', EDGEPORT_DEVICE_ID: 'gw' });
  const leafCs = await connectionString('leaf1', env);
  const moduleCs = await connectionString('gw/worker', env);
  const notRunning = await edgeport(['c2d', 'send', 'leaf1', '--body', 'x'], env);
  assert.equal(notRunning.status, 1);
  assert.match(notRunning.stderr, /no Edgeport runtime is running/);

  const caPath = (await edgeport(['cert', 'ca-path'], env)).stdout.trim();
  const ca = readFileSync(caPath, 'utf8');
  const runtime = spawn(process.execPath, [BIN, 'run', '--only', 'hub'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(runtime);
  let log = '';
  runtime.stdout.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  runtime.stderr.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  await within(20_000, 'runtime start', (async () => {
    while (!log.includes('edgeport running')) await new Promise((r) => setTimeout(r, 100));
  })());

  const leaf = Client.fromConnectionString(leafCs, Mqtt);
  const worker = ModuleClient.fromConnectionString(moduleCs, Mqtt);
  try {
    // Queued before the device connects.
    const sent = await edgeport(['c2d', 'send', 'leaf1', '--body', 'hello leaf', '--property', 'unit=celsius', '--property', 'q=a=b', '--message-id', 'cli-1', '--content-type', 'text/plain'], env);
    assert.equal(sent.status, 0, sent.stderr);
    assert.equal(sent.stdout, 'queued message cli-1 for leaf1 (1 queued)\n');

    await leaf.setOptions({ ca });
    await within(10_000, 'leaf open', leaf.open());
    const received = new Promise<Message>((resolve) => leaf.on('message', (m: Message) => resolve(m)));
    const message = await within(10_000, 'C2D at the leaf', received);
    assert.equal(message.getBytes().toString(), 'hello leaf');
    assert.equal(message.messageId, 'cli-1');
    assert.equal(message.contentType, 'text/plain');
    assert.equal(message.properties.getValue('unit'), 'celsius');
    assert.equal(message.properties.getValue('q'), 'a=b');

    await worker.setOptions({ ca });
    await within(10_000, 'worker open', worker.open());
    worker.onMethod('configure', (request, response) => void response!.send(200, { applied: request!.payload }));
    worker.onMethod('fail', (_request, response) => void response!.send(500, { error: 'nope' }));
    await new Promise((r) => setTimeout(r, 300));

    const ok = await edgeport(['method', 'invoke', 'gw/worker', 'configure', '--payload', '{"interval": 5}', '--timeout', '10'], env);
    assert.equal(ok.status, 0, ok.stderr);
    const [statusLine, ...payloadLines] = ok.stdout.trimEnd().split('\n');
    assert.equal(statusLine, 'status: 200');
    assert.deepEqual(JSON.parse(payloadLines.join('\n')), { applied: { interval: 5 } });

    const failed = await edgeport(['method', 'invoke', 'gw/worker', 'fail'], env);
    assert.equal(failed.status, 1, 'status >= 400 exits non-zero');
    assert.match(failed.stdout, /^status: 500\n/);
    const offline = await edgeport(['method', 'invoke', 'gw/absent', 'configure'], env);
    assert.equal(offline.status, 1);
    assert.match(offline.stdout, /^status: 404\n[\s\S]*not connected/);
    const badJson = await edgeport(['method', 'invoke', 'gw/worker', 'configure', '--payload', '{interval: 5}'], env);
    assert.equal(badJson.status, 2);
    assert.match(badJson.stderr, /--payload must be JSON/);
    const unknown = await edgeport(['c2d', 'send', 'ghost', '--body', 'x'], env);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /device "ghost" is not registered/);
    // The management API itself: bad bodies and methods get clear 4xx answers.
    const socketPath = join(dir, 'data', 'sockets', 'management.sock');
    assert.deepEqual(await management(socketPath, 'POST', '/devices/leaf1/messages/devicebound', '{not json'), { status: 400, message: 'the request body must be a JSON object {"body": "...", "properties": {...}}' });
    assert.equal((await management(socketPath, 'GET', '/devices/leaf1/messages/devicebound')).status, 405);
    assert.deepEqual(await management(socketPath, 'POST', '/twins/gw/modules/worker/methods', '{"payload": 1}'), { status: 400, message: 'methodName must be a non-empty string' });
    assert.deepEqual(await management(socketPath, 'POST', '/devices/leaf1/messages/devicebound', '{"body": "x", "properties": {"n": 1}}'), { status: 400, message: 'properties must be an object of string values' });
    const noAgent = await edgeport(['list'], env);
    assert.equal(noAgent.status, 1);
    assert.match(noAgent.stderr, /edge agent is not running/);
  } finally {
    await leaf.close().catch(() => undefined);
    await worker.close().catch(() => undefined);
    runtime.kill('SIGINT');
    await new Promise((resolve) => runtime.once('exit', resolve));
  }
});
