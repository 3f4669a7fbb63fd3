import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdentity } from '../../../domain/identity/identity.js';
import type { Message } from '../../../domain/messages/message.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { parseDeviceConnectionString, ConnectionStringError } from '../../../adapters/iothub/connection-string.js';
import { FakeChannel } from '../../support/fake-client-channel.js';
import { IotHubEmulator } from '../../support/iothub-emulator/iothub-emulator.js';
import { SilentLogger, eventually } from '../../support/pipeline-harness.js';
import { upstreamFor } from '../../support/upstream/iothub-fixture.js';
import { buildUpstreamHub } from '../../support/upstream/upstream-harness.js';
import { StateIdentityStore } from '../../../application/hub/state-identity-store.js';
import { InMemoryStateStore } from '../../support/in-memory-state-store.js';
import { testCipher } from '../../support/identity/test-cipher.js';

const text = new TextEncoder();
const msg = (n: number): Message => ({ body: text.encode(`{"n":${n}}`), properties: { n: String(n) }, systemProperties: { messageId: `m${n}`, contentType: 'application/json' } });

async function setUp(options: { tokenTtlSeconds?: number } = {}) {
  const emulator = new IotHubEmulator();
  emulator.registry.add('edge1', { edge: true });
  emulator.registry.add('edge1/$edgeAgent');
  emulator.registry.add('edge1/$edgeHub');
  for (let i = 0; i < 10; i++) emulator.registry.add(`edge1/mod${i}`);
  for (let i = 0; i < 10; i++) emulator.registry.add(`leaf${i}`, { parent: 'edge1' });
  await emulator.start();
  const state = new InMemoryStateStore();
  const log = new SilentLogger();
  // One master key for both views of the identity store (the hub's and the upstream's).
  const cipher = testCipher();
  const upstream = upstreamFor(emulator, 'edge1', new StateIdentityStore(state, cipher), options, log);
  const h = buildUpstreamHub({ state, upstream, clock: new SystemClock(), cipher });
  await h.pumps.start();
  await h.sync.start();
  await h.hubDeployment.start();
  await eventually(() => upstream.isConnected(), 10_000, 'connected to the emulator');
  await h.sync.idle();
  const close = async () => {
    await h.hubDeployment.stop();
    await h.sync.stop();
    await h.pumps.stop();
    await emulator.close();
  };
  return { emulator, upstream, h, close, log };
}

test('iothub upstream: 20 identities over ONE AMQP connection, each authenticated by its own CBS token; telemetry arrives as its sender; the device scope is cached', { timeout: 60_000 }, async () => {
  const { emulator, upstream, h, close } = await setUp();
  try {
    assert.equal((await h.identities.list()).length, 22, 'device scope ($edgeAgent, $edgeHub, 10 modules, 10 leaf devices) cached');
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++) {
        await h.ingest.ingest(msg(round * 100 + i), { deviceId: 'edge1', moduleId: `mod${i}` });
        await h.ingest.ingest(msg(round * 100 + 50 + i), { deviceId: `leaf${i}` });
      }
    }
    await emulator.waitForMessages((r) => r.length === 100, 20_000, '100 messages');
    assert.equal(emulator.openConnections, 1, 'one TLS connection');
    assert.equal(emulator.connectionsOpened, 1);
    const byConnection = emulator.identitiesByConnection();
    assert.equal(byConnection.size, 1);
    const identities = [...byConnection.values()][0]!;
    for (let i = 0; i < 10; i++) {
      assert.ok(identities.includes(`edge1/mod${i}`), `mod${i} authenticated on the shared connection`);
      assert.ok(identities.includes(`leaf${i}`));
    }
    assert.deepEqual(emulator.messages('edge1/mod3').map((m) => m.properties['n']), ['3', '103', '203', '303', '403']);
    assert.deepEqual(emulator.messages('leaf7').map((m) => m.systemProperties['messageId']), ['m57', 'm157', 'm257', 'm357', 'm457']);
    assert.equal(emulator.messages('leaf7')[0]!.systemProperties['contentType'], 'application/json');
    assert.equal(upstream.connectionsEstablished, 1);
    assert.deepEqual(emulator.refusals, []);
  } finally {
    await close();
  }
});

test('iothub upstream: the emulator goes down while messages keep coming; after it returns every message arrives, in order', { timeout: 90_000 }, async () => {
  const { emulator, upstream, h, close } = await setUp();
  try {
    for (let i = 0; i < 20; i++) await h.ingest.ingest(msg(i), { deviceId: 'edge1', moduleId: 'mod1' });
    await emulator.waitForMessages((r) => r.length === 20, 10_000, 'before the outage');
    await emulator.stop();
    await eventually(() => !upstream.isConnected(), 10_000, 'disconnect noticed');
    for (let i = 20; i < 120; i++) await h.ingest.ingest(msg(i), { deviceId: 'edge1', moduleId: 'mod1' });
    await h.twins.updateReported(parseIdentity('edge1/mod1'), { offline: 1 });
    await h.twins.updateReported(parseIdentity('edge1/mod1'), { offline: 2, seen: true });
    // The upstream tries again while the messages wait (a failed reconnect), and nothing is lost.
    const attempts = upstream.connectAttempts;
    await eventually(() => upstream.connectAttempts > attempts, 10_000, 'a reconnect attempt during the outage');
    // At least the 100 sent during the outage (the last batch before it may be unacknowledged and go again).
    assert.ok((h.store.queues().find((q) => q.endpointId === '$upstream')?.length ?? 0) >= 100, 'kept in the store');
    await emulator.start();
    await eventually(() => upstream.isConnected(), 20_000, 'reconnected');
    await emulator.waitForMessages((r) => new Set(r.map((m) => m.message.properties['n'])).size === 120, 20_000, 'all 120');
    const firsts: string[] = [];
    for (const m of emulator.messages('edge1/mod1')) if (!firsts.includes(m.properties['n']!)) firsts.push(m.properties['n']!);
    assert.deepEqual(firsts, Array.from({ length: 120 }, (_, i) => String(i)));
    await eventually(() => emulator.twin('edge1/mod1').reported.properties['offline'] === 2, 10_000, 'offline reported patches sent on reconnect');
    assert.deepEqual(emulator.twin('edge1/mod1').reported.properties, { offline: 2, seen: true });
    assert.equal(upstream.connectionsEstablished, 2);
  } finally {
    await close();
  }
});

test('iothub upstream: a sender\'s messages go up in batches; a refused batch is sent again one by one, only the refused message is dropped, the rest arrive in order', { timeout: 60_000 }, async () => {
  const { emulator, h, close } = await setUp();
  try {
    emulator.refuseMessage = (_identity, m) => (m.properties['n'] === '14' ? 'message 14 is not allowed' : undefined);
    // Ingested before the pump can send: the runs of each sender go up as batches.
    await Promise.all(Array.from({ length: 30 }, (_, i) => h.ingest.ingest(msg(i), { deviceId: 'edge1', moduleId: i % 2 === 0 ? 'mod1' : 'mod2' })));
    await eventually(() => h.store.queues().find((q) => q.endpointId === '$upstream')?.length === 0, 20_000, 'the queue drained');
    const firsts = (id: string): string[] => [...new Set(emulator.messages(id).map((m) => m.properties['n']!))];
    assert.deepEqual(firsts('edge1/mod1'), Array.from({ length: 15 }, (_, i) => String(i * 2)).filter((n) => n !== '14'), 'mod1: in order, 14 dropped');
    assert.deepEqual(firsts('edge1/mod2'), Array.from({ length: 15 }, (_, i) => String(i * 2 + 1)), 'mod2: in order');
    assert.ok(!emulator.messages().some((m) => m.properties['n'] === '14'));
    // The refused batch was sent again message by message: only 14 is dropped, not its batch.
    assert.equal(h.counters.value('edgeport_messages_dropped_total', { endpoint: '$upstream', reason: 'delivery_failed' }), 1);
  } finally {
    await close();
  }
});

test('iothub upstream: $edgeAgent/$edgeHub desired from the cloud drive the deployment and routes; methods and C2D reach clients and answers return', { timeout: 60_000 }, async () => {
  const { emulator, h, close } = await setUp();
  try {
    emulator.setDesired('edge1/$edgeAgent', { schemaVersion: '1.1', runtime: { type: 'docker', settings: {} }, systemModules: { edgeAgent: { type: 'docker', settings: { image: 'a' } }, edgeHub: { type: 'docker', status: 'running', restartPolicy: 'always', settings: { image: 'h' } } }, modules: {} });
    await eventually(() => h.deployment.current()?.deployment.agent.ok === true, 10_000, 'deployment from the $edgeAgent twin');
    emulator.setDesired('edge1/$edgeHub', { schemaVersion: '1.1', routes: { r1: 'FROM /messages/* INTO $upstream', r2: 'FROM /messages/modules/mod1/* INTO BrokeredEndpoint("/modules/mod2/inputs/in")' }, storeAndForwardConfiguration: { timeToLiveSecs: 100 } });
    await eventually(() => h.routes.table.size === 2, 10_000, 'routes from the $edgeHub twin');
    await eventually(() => (emulator.twin('edge1/$edgeHub').reported.properties['lastDesiredStatus'] as { code?: number } | undefined)?.code === 200, 10_000, '$edgeHub reported 200');

    const leaf = new FakeChannel(parseIdentity('leaf3'));
    leaf.features.add('methods');
    leaf.features.add('c2d');
    leaf.features.add('twin-desired');
    h.directory.register(leaf);
    await h.sync.idle();
    const call = emulator.invokeMethod('leaf3', 'reboot', { delay: 2 }, 10_000);
    await eventually(() => leaf.methods.length === 1, 10_000, 'method request at the leaf');
    assert.equal(leaf.methods[0]!.name, 'reboot');
    assert.equal(leaf.methods[0]!.payload, '{"delay":2}');
    h.methods.handleResponse(parseIdentity('leaf3'), leaf.methods[0]!.rid, 201, text.encode('{"done":true}'));
    assert.deepEqual(await call, { status: 201, payload: { done: true } });

    const settled = await emulator.sendC2d('leaf3', { body: text.encode('to leaf'), properties: { p: '1' }, systemProperties: { messageId: 'c2d-7' } });
    assert.equal(settled, 'completed');
    assert.equal(h.inbox.received.length, 1);
    assert.equal(h.inbox.received[0]!.message.systemProperties['messageId'], 'c2d-7');
    assert.equal(new TextDecoder().decode(h.inbox.received[0]!.message.body), 'to leaf');

    emulator.setDesired('leaf3', { mode: 'eco' });
    await eventually(() => leaf.desired.some((d) => d.patch['mode'] === 'eco'), 10_000, 'desired patch pushed to the leaf');
    await h.twins.updateReported(parseIdentity('leaf3'), { battery: 80 });
    await eventually(() => emulator.twin('leaf3').reported.properties['battery'] === 80, 10_000, 'leaf reported patch at the cloud');
  } finally {
    await close();
  }
});

test('iothub upstream: tokens are renewed on the same connection before they expire', { timeout: 60_000 }, async () => {
  const { emulator, upstream, h, close } = await setUp({ tokenTtlSeconds: 4 });
  try {
    // leaf1's first token is put with its first message: it expires at most 4 s from now.
    const firstTokenExpired = Date.now() + 4000;
    await h.ingest.ingest(msg(1), { deviceId: 'leaf1' });
    await emulator.waitForMessages((r) => r.length === 1, 10_000, 'first');
    await eventually(() => (emulator.authentications.get('leaf1') ?? 0) >= 2, 10_000, 'leaf1 renewed its token');
    // The emulator detaches an identity whose token expired: the next message must still go up in place.
    await eventually(() => Date.now() > firstTokenExpired, 10_000, 'the first token expired');
    await h.ingest.ingest(msg(2), { deviceId: 'leaf1' });
    await emulator.waitForMessages((r) => r.length === 2, 10_000, 'after the first token expired');
    assert.equal(upstream.connectionsEstablished, 1, 'no reconnect: renewed in place');
    assert.ok((emulator.authentications.get('leaf1') ?? 0) >= 2, `leaf1 put a token again (${emulator.authentications.get('leaf1')})`);
    assert.deepEqual(emulator.refusals, []);
    assert.equal(emulator.connectionsOpened, 1);
  } finally {
    await close();
  }
});

test('iothub upstream: a leaf whose locally kept key the cloud does not know is signed for by the edge device', { timeout: 30_000 }, async () => {
  const { emulator, h, close } = await setUp();
  try {
    emulator.registry.add('leafx', { parent: 'edge1' });
    await h.identities.put(parseIdentity('leafx'), { primaryKey: Buffer.alloc(32, 1).toString('base64'), secondaryKey: Buffer.alloc(32, 2).toString('base64') });
    await h.ingest.ingest(msg(1), { deviceId: 'leafx' });
    await emulator.waitForMessages((r) => r.some((m) => m.identity === 'leafx'), 10_000, 'leafx telemetry');
    assert.ok(emulator.refusals.some((r) => r.startsWith('leafx: signature')), 'own key tried first');
    assert.equal(emulator.authentications.get('leafx'), 1, 'then the edge device signed on its behalf');
  } finally {
    await close();
  }
});

test('iothub upstream: twin links of 20 clients do not stall telemetry on the shared session (pre-settled twin requests are settled by the server)', { timeout: 60_000 }, async () => {
  const { emulator, h, close } = await setUp();
  try {
    for (let i = 0; i < 10; i++) {
      const leaf = new FakeChannel(parseIdentity(`leaf${i}`));
      leaf.features.add('twin-desired');
      h.directory.register(leaf);
    }
    await h.sync.idle();
    // More transfers than rhea's session buffer (2048) after the twin requests.
    for (let i = 0; i < 2600; i++) await h.ingest.ingest(msg(i), { deviceId: `leaf${i % 10}` });
    await emulator.waitForMessages((r) => r.length >= 2600, 30_000, '2600 messages');
  } finally {
    await close();
  }
});

test('iothub upstream: a desired notification that is not a JSON object is logged with its identity and ignored; later patches still arrive', { timeout: 30_000 }, async () => {
  const { emulator, h, close, log } = await setUp();
  try {
    const leaf = new FakeChannel(parseIdentity('leaf4'));
    leaf.features.add('twin-desired');
    h.directory.register(leaf);
    await h.sync.idle();
    await eventually(() => emulator.pushRawDesired('leaf4', [1, 2]) === 1, 10_000, 'the leaf\'s desired link at the emulator');
    await eventually(() => log.lines.some((l) => l.message === 'desired patch from IoT Hub is not a JSON object; ignored'), 10_000, 'the refusal logged');
    const line = log.lines.find((l) => l.message === 'desired patch from IoT Hub is not a JSON object; ignored')!;
    assert.deepEqual(line.fields, { identity: 'leaf4', type: 'array' });
    assert.equal(leaf.desired.length, 0, 'nothing pushed to the client');
    emulator.setDesired('leaf4', { mode: 'eco' });
    await eventually(() => leaf.desired.some((d) => d.patch['mode'] === 'eco'), 10_000, 'a proper patch still arrives');
  } finally {
    await close();
  }
});

test('connection string: clear errors, never the key', () => {
  assert.deepEqual(parseDeviceConnectionString('HostName=h.example;DeviceId=d;SharedAccessKey=a2V5'), { hostName: 'h.example', deviceId: 'd', sharedAccessKey: 'a2V5' });
  assert.throws(() => parseDeviceConnectionString('HostName=h;SharedAccessKey=secretkey'), (e: Error) => e instanceof ConnectionStringError && /DeviceId/.test(e.message) && !e.message.includes('secretkey'));
  assert.throws(() => parseDeviceConnectionString('HostName=h;DeviceId=d;ModuleId=m;SharedAccessKey=k'), /no ModuleId/);
  assert.throws(() => parseDeviceConnectionString('garbage'), /Key=Value/);
});
