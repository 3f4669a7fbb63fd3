import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliEnv, loopbackListeners } from '../../support/cli/edgeport-cli.js';
import { Message, ModuleClient, Mqtt } from '../../support/mqtt/sdk.js';
import { manifestFor } from '../../support/runtime-manifest.js';

// The whole runtime as users run it: `edgeport run` with a deployment manifest, identities added
// with the CLI, and two unchanged SDK modules whose messages the manifest's route connects.

const BIN = fileURLToPath(new URL('../../../infrastructure/cli/bin.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'edgeport-run-'));
const running: ChildProcess[] = [];
after(() => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

const manifest = manifestFor({ sensorToFilter: 'FROM /messages/modules/sensor/outputs/temperature WHERE as_number(celsius) > 30 INTO BrokeredEndpoint("/modules/filter/inputs/hot")' }) as { modulesContent: Record<string, unknown> };
manifest.modulesContent['filter'] = { 'properties.desired': { threshold: 30 } };

test('edgeport run: manifest routes and module twins reach SDK modules over TLS', { timeout: 60_000 }, async () => {
  const listeners = await loopbackListeners();
  const mqttPort = Number(listeners.EDGEPORT_HUB_MQTT_PORT);
  const env = cliEnv({ ...listeners, EDGEPORT_LOG_FORMAT: 'json', EDGEPORT_DEVICE_ID: 'gw', EDGEPORT_AGENT_RUNTIME: 'process', EDGEPORT_AGENT_MANIFEST: 'deployment.json' });
  writeFileSync(join(dir, 'deployment.json'), JSON.stringify(manifest));

  const connectionStrings: Record<string, string> = {};
  for (const module of ['sensor', 'filter']) {
    const added = spawnSync(process.execPath, [BIN, 'identity', 'add', `gw/${module}`], { cwd: dir, env, encoding: 'utf8' });
    assert.equal(added.status, 0, added.stderr);
    const line = added.stdout.split('\n').find((l) => l.startsWith('connectionString: '));
    assert.ok(line, added.stdout);
    connectionStrings[module] = line.slice('connectionString: '.length);
  }
  assert.match(connectionStrings['sensor']!, new RegExp(`GatewayHostName=localhost:${mqttPort}`));
  const ca = readFileSync(spawnSync(process.execPath, [BIN, 'cert', 'ca-path'], { cwd: dir, env, encoding: 'utf8' }).stdout.trim(), 'utf8');

  const runtime = spawn(process.execPath, [BIN, 'run'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(runtime);
  let log = '';
  runtime.stdout.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  runtime.stderr.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  const exited = new Promise<number | null>((resolve) => runtime.on('exit', (code) => resolve(code)));
  await within(20_000, `runtime start; log:\n${log}`, (async () => {
    while (!log.includes('edgeport running')) await new Promise((r) => setTimeout(r, 100));
  })());
  assert.match(log, /"msg":"routes applied: 1"/);

  const clients: ModuleClient[] = [];
  try {
    const filter = ModuleClient.fromConnectionString(connectionStrings['filter']!, Mqtt);
    clients.push(filter);
    await filter.setOptions({ ca });
    await within(10_000, 'filter open', filter.open());
    const twin = await within(10_000, 'filter twin', filter.getTwin());
    assert.equal(twin.properties.desired['threshold'], 30, 'desired properties come from modulesContent.filter');

    const inputs: Array<{ input: string; body: string }> = [];
    const arrived = new Promise<void>((resolve) =>
      filter.on('inputMessage', (input: string, msg: InstanceType<typeof Message>) => {
        inputs.push({ input, body: msg.getBytes().toString() });
        void filter.complete(msg, () => undefined);
        resolve();
      }),
    );
    await new Promise((r) => setTimeout(r, 300));

    const sensor = ModuleClient.fromConnectionString(connectionStrings['sensor']!, Mqtt);
    clients.push(sensor);
    await sensor.setOptions({ ca });
    await within(10_000, 'sensor open', sensor.open());
    for (const celsius of [21, 35]) {
      const message = new Message(JSON.stringify({ celsius }));
      message.properties.add('celsius', String(celsius));
      await within(10_000, 'sendOutputEvent', sensor.sendOutputEvent('temperature', message));
    }
    await within(10_000, 'routed input at filter', arrived);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(inputs, [{ input: 'hot', body: '{"celsius":35}' }], 'only the message the WHERE clause admits is routed');
  } finally {
    for (const client of clients) await client.close().catch(() => undefined);
  }

  runtime.kill('SIGTERM');
  assert.equal(await exited, 0, log);
});
