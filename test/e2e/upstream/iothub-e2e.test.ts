import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loopbackListeners } from '../../support/cli/edgeport-cli.js';
import { IotHubEmulator } from '../../support/iothub-emulator/iothub-emulator.js';
import { Client, Message, Mqtt } from '../../support/mqtt/sdk.js';
import { within } from '../../support/mqtt/hub-harness.js';
import { RuntimeProcess } from '../../support/runtime-process.js';

const OUTAGE_MS = Number(process.env['UPSTREAM_E2E_OUTAGE_MS'] ?? 30_000);

/** First occurrences of `seq` in arrival order (at-least-once may repeat a message). */
function firstSeqs(values: string[]): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  for (const v of values) {
    if (seen.has(v)) continue;
    seen.add(v);
    out.push(Number(v));
  }
  return out;
}

test('e2e upstream: deployment from the emulator\'s $edgeAgent twin, telemetry up, 30 s outage without loss or reordering, C2D to a leaf, a method to a module, 20 clients on one upstream connection', { timeout: 240_000 }, async () => {
  const emulator = new IotHubEmulator();
  const edge = emulator.registry.add('edge1', { edge: true });
  // `counter` is not registered: the runtime creates its identity in the cloud when it deploys it.
  for (const m of ['$edgeAgent', '$edgeHub']) emulator.registry.add(`edge1/${m}`);
  const leaves = Array.from({ length: 19 }, (_, i) => emulator.registry.add(`leaf${i + 1}`, { parent: 'edge1' }));
  await emulator.start();
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeport-upstream-e2e-'));
  const caFile = join(dataDir, 'emulator-ca.pem');
  writeFileSync(caFile, emulator.ca);
  const listeners = await loopbackListeners();
  const mqttPort = listeners.EDGEPORT_HUB_MQTT_PORT;
  const runtime = new RuntimeProcess(dataDir, {
    EDGEPORT_HOSTNAME: 'localhost',
    EDGEPORT_DEVICE_ID: 'edge1',
    EDGEPORT_IOT_HUB_HOSTNAME: emulator.hostName,
    ...listeners,
    EDGEPORT_AGENT_RUNTIME: 'process',
    EDGEPORT_UPSTREAM_KIND: 'iothub',
    EDGEPORT_UPSTREAM_CONNECTION_STRING: `HostName=${emulator.hostName};DeviceId=edge1;SharedAccessKey=${edge.primaryKey}`,
    EDGEPORT_UPSTREAM_HOST: 'localhost',
    EDGEPORT_UPSTREAM_AMQP_PORT: String(emulator.amqpPort),
    EDGEPORT_UPSTREAM_HTTPS_PORT: String(emulator.httpsPort),
    EDGEPORT_UPSTREAM_CA_FILE: caFile,
    EDGEPORT_LOG_LEVEL: process.env['UPSTREAM_E2E_LOG_LEVEL'] ?? 'info',
  });
  const leafClients: Array<InstanceType<typeof Client>> = [];
  try {
    await runtime.until('edgeport running', 30_000, () => runtime.lines.some((l) => String(l['msg']).startsWith('edgeport running')) || undefined);
    await runtime.until('upstream connected', 20_000, () => (emulator.identitiesByConnection().size === 1 ? true : undefined)).catch((error: unknown) => {
      throw new Error(`${String(error)}\nemulator: open ${emulator.openConnections}, opened ${emulator.connectionsOpened}, refusals ${emulator.refusals.join('; ')}`);
    });

    // The deployment arrives as the $edgeAgent and $edgeHub twins.
    emulator.setDesired('edge1/$edgeHub', { schemaVersion: '1.1', routes: { up: 'FROM /messages/* INTO $upstream' }, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } });
    emulator.setDesired('edge1/$edgeAgent', {
      schemaVersion: '1.1',
      modules: { counter: { type: 'process', status: 'running', restartPolicy: 'always', version: '1.0', env: { INTERVAL_MS: { value: '100' } }, settings: { command: 'node', args: ['test/fixtures/upstream/counter-module.mjs'], cwd: '.' } } },
    });
    await runtime.until('counter telemetry at the emulator', 60_000, () => (emulator.messages('edge1/counter').length >= 10 ? true : undefined));
    assert.ok(emulator.registry.get({ kind: 'module', deviceId: 'edge1', moduleId: 'counter' }), 'module identity created in the cloud');
    const counterLog = readFileSync(join(dataDir, 'modules', 'counter.log'), 'utf8');
    assert.match(counterLog, /counter connected as edge1\/counter/);
    await runtime.until('$edgeHub reported 200', 30_000, () => ((emulator.twin('edge1/$edgeHub').reported.properties['lastDesiredStatus'] as { code?: number } | undefined)?.code === 200 ? true : undefined));
    // The agent's reported state (TwinAgentReporter -> local $edgeAgent twin -> reported outbox) reaches the cloud twin.
    const agentReported = await runtime.until('$edgeAgent reported 200 with counter running', 30_000, () => {
      const reported = emulator.twin('edge1/$edgeAgent').reported.properties as { lastDesiredStatus?: { code?: number }; modules?: Record<string, { runtimeStatus?: string }> };
      return reported.lastDesiredStatus?.code === 200 && reported.modules?.['counter']?.runtimeStatus === 'running' ? reported : undefined;
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}\n$edgeAgent reported: ${JSON.stringify(emulator.twin('edge1/$edgeAgent').reported)}`);
    });
    assert.equal((agentReported as { lastDesiredVersion?: number }).lastDesiredVersion, emulator.twin('edge1/$edgeAgent').desired.$version, '$edgeAgent reports the desired version it applied');

    // A method from the cloud reaches the module and its answer returns.
    const echo = await emulator.invokeMethod('edge1/counter', 'echo', { x: 1 }, 20_000);
    assert.deepEqual(echo, { status: 200, payload: { echoed: { x: 1 }, from: 'counter' } });

    // 19 leaf devices (+ the module = 20 clients) connect to the hub with their cloud keys (cached device scope).
    const ca = readFileSync(join(dataDir, 'certs', 'edge-ca.cert.pem'), 'utf8');
    const c2d: string[] = [];
    for (const leaf of leaves) {
      const id = leaf.identity.deviceId;
      const client = Client.fromConnectionString(`HostName=${emulator.hostName};DeviceId=${id};SharedAccessKey=${leaf.primaryKey};GatewayHostName=localhost:${mqttPort}`, Mqtt);
      await client.setOptions({ ca });
      await within(15_000, `${id} open`, client.open());
      leafClients.push(client);
      if (id === 'leaf1') {
        client.on('message', (msg) => {
          c2d.push(String(msg.data));
          void client.complete(msg);
        });
      }
      const m = new Message(JSON.stringify({ from: id }));
      m.properties.add('leaf', id);
      await within(10_000, `${id} send`, client.sendEvent(m));
    }
    await emulator.waitForMessages((r) => leaves.every((l) => r.some((m) => m.identity === l.identity.deviceId)), 30_000, 'one message from each leaf');
    assert.equal(emulator.openConnections, 1, 'exactly one upstream connection');
    const [identities] = [...emulator.identitiesByConnection().values()];
    assert.ok(identities !== undefined && identities.includes('edge1/counter') && leaves.every((l) => identities.includes(l.identity.deviceId)), `20 clients multiplexed: ${String(identities)}`);

    // C2D from the cloud reaches the leaf.
    assert.equal(await within(20_000, 'c2d accepted by the edge', emulator.sendC2d('leaf1', { body: new TextEncoder().encode('hello leaf'), properties: {}, systemProperties: { messageId: 'c2d-e2e' } })), 'completed');
    await runtime.until('C2D at leaf1', 20_000, () => (c2d.includes('hello leaf') ? true : undefined));

    // The cloud goes away for 30 s while the sensor keeps sending; every message arrives, in order.
    const before = firstSeqs(emulator.messages('edge1/counter').map((m) => m.properties['seq']!));
    await emulator.stop();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    await emulator.start();
    // The module sends every 100 ms (each send waits for the hub's acknowledgement): at least half that rate.
    const sentDuringOutage = before.length + OUTAGE_MS / 100 / 2;
    await runtime.until('the backlog at the emulator', 60_000, () => (firstSeqs(emulator.messages('edge1/counter').map((m) => m.properties['seq']!)).length > sentDuringOutage ? true : undefined));
    const seqs = firstSeqs(emulator.messages('edge1/counter').map((m) => m.properties['seq']!));
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i), 'every sequence number, in order, none lost');
    assert.ok(seqs.length > before.length + OUTAGE_MS / 100 / 2, `messages sent during the outage arrived (${seqs.length - before.length})`);
    assert.equal(emulator.openConnections, 1, 'one connection again after the outage');

    // Clients first: a client that loses the hub keeps retrying (up to 240 s) and holds the test open.
    for (const c of leafClients.splice(0)) await c.close().catch(() => undefined);
    const exit = await runtime.stop();
    assert.equal(exit, 0, runtime.context());
  } finally {
    for (const c of leafClients) await c.close().catch(() => undefined);
    await runtime.stop();
    await emulator.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
