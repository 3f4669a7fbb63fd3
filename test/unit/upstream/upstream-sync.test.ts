import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdentity } from '../../../domain/identity/identity.js';
import type { Message } from '../../../domain/messages/message.js';
import type { JsonObject } from '../../../domain/twins/json.js';
import type { AgentMethods } from '../../../application/agent/agent-methods.js';
import { DeliveryError } from '../../../application/ports/endpoint-delivery.js';
import { UpstreamError } from '../../../application/ports/upstream.js';
import { REPORTED_OUTBOX_NAMESPACE } from '../../../application/upstream/reported-outbox.js';
import { eventually, settle } from '../../support/pipeline-harness.js';
import { processModule } from '../../support/agent/memory-deployment-source.js';
import { InMemoryStateStore } from '../../support/in-memory-state-store.js';
import { FakeUpstream } from '../../support/upstream/fake-upstream.js';
import { FakeChannel } from '../../support/fake-client-channel.js';
import { buildUpstreamHub } from '../../support/upstream/upstream-harness.js';
import type { ClientFeature } from '../../../application/ports/client-channel.js';

function channel(identity: ReturnType<typeof parseIdentity>, features: ClientFeature[]): FakeChannel {
  const c = new FakeChannel(identity);
  for (const f of features) c.features.add(f);
  return c;
}

const text = new TextEncoder();
const telemetry = (n: number): Message => ({ body: text.encode(`m${n}`), properties: { n: String(n) }, systemProperties: {} });
const AGENT = parseIdentity('edge1/$edgeAgent');
const HUB = parseIdentity('edge1/$edgeHub');
const SENSOR = parseIdentity('edge1/sensor');
const LEAF = parseIdentity('leaf1');

const manifestModules = { schemaVersion: '1.1', runtime: { type: 'docker', settings: {} }, systemModules: { edgeAgent: { type: 'docker', settings: { image: 'a' } }, edgeHub: { type: 'docker', status: 'running', restartPolicy: 'always', settings: { image: 'h' } } }, modules: {} };

test('$upstream: messages wait in the store while disconnected and go up in order, as their senders, on connect', async () => {
  const h = buildUpstreamHub();
  await h.pumps.start();
  assert.equal(h.delivery.isAvailable({ type: 'upstream', id: '$upstream' }), false);
  for (let i = 0; i < 30; i++) await h.ingest.ingest(telemetry(i), i % 3 === 0 ? { deviceId: 'leaf1' } : { deviceId: 'edge1', moduleId: 'sensor' });
  await settle(20);
  assert.equal(h.upstream.events.length, 0, 'nothing goes up while disconnected');
  assert.equal(h.store.queues().find((q) => q.endpointId === '$upstream')?.length, 30, 'kept in the store');

  h.upstream.setConnected(true);
  await eventually(() => h.upstream.events.length === 30, 5000, 'all 30 upstream');
  // In order per sender, each as its own identity.
  const of = (identity: string) => h.upstream.events.filter((e) => e.identity === identity).map((e) => Number(e.message.properties['n']));
  const all = Array.from({ length: 30 }, (_, i) => i);
  assert.deepEqual(of('leaf1'), all.filter((i) => i % 3 === 0));
  assert.deepEqual(of('edge1/sensor'), all.filter((i) => i % 3 !== 0));
  await h.pumps.stop();
});

test('$upstream: a refused message mid-batch is re-sent from the first unaccepted one (at least once, in order)', async () => {
  const h = buildUpstreamHub();
  await h.pumps.start();
  h.upstream.setConnected(true);
  let failures = 1;
  h.upstream.failEvent = (_identity, message) => (message.properties['n'] === '5' && failures-- > 0 ? new DeliveryError('link detached', true) : undefined);
  for (let i = 0; i < 10; i++) await h.ingest.ingest(telemetry(i), { deviceId: 'edge1', moduleId: 'sensor' });
  await eventually(() => h.upstream.events.length === 5, 5000, 'the first five');
  await settle(10);
  assert.equal(h.upstream.events.length, 5, 'stopped at the refused one, backing off');
  // The pump backs off on the fake clock: move it on.
  h.clock.advance(60_000);
  await eventually(() => h.upstream.events.length === 10, 5000, '10 upstream');
  assert.deepEqual(h.upstream.events.map((e) => e.message.properties['n']), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  await h.pumps.stop();
});

test('delivery: each sender\'s messages go up as that identity; delivered = the batch prefix before the first unaccepted message', async () => {
  const upstream = new FakeUpstream();
  const h = buildUpstreamHub({ upstream });
  upstream.setConnected(true);
  const from = (n: number, sender: string): Message => ({ ...telemetry(n), systemProperties: sender.includes('/') ? { connectionDeviceId: sender.split('/')[0]!, connectionModuleId: sender.split('/')[1]! } : { connectionDeviceId: sender } });
  upstream.failEvent = (identity, m) => (identity.deviceId === 'leaf1' && m.properties['n'] === '3' ? new DeliveryError('too large', false) : undefined);
  const result = await h.delivery.deliver({ type: 'upstream', id: '$upstream' }, [from(0, 'edge1/a'), from(1, 'edge1/a'), from(2, 'leaf1'), from(3, 'leaf1'), from(4, 'edge1/a')]);
  assert.equal(result.delivered, 3);
  assert.ok(result.error instanceof DeliveryError && !result.error.transient, 'a non-transient refusal passes through (the pump drops that message)');
  // A later sender failing earlier in the batch than another sender's accepted messages: the prefix stops there.
  upstream.failEvent = (identity, m) => (identity.deviceId === 'leaf2' ? new DeliveryError('throttled', true) : undefined);
  const mixed = await h.delivery.deliver({ type: 'upstream', id: '$upstream' }, [from(10, 'edge1/a'), from(11, 'leaf2'), from(12, 'edge1/a')]);
  assert.equal(mixed.delivered, 1);
  assert.ok(mixed.error instanceof DeliveryError && mixed.error.transient);
  const changes: Array<[string, boolean]> = [];
  h.delivery.onAvailabilityChange((id, available) => changes.push([id, available]));
  upstream.setConnected(false);
  assert.deepEqual(changes, [['$upstream', false]]);
  const offline = await h.delivery.deliver({ type: 'upstream', id: '$upstream' }, [telemetry(9)]);
  assert.equal(offline.delivered, 0);
  assert.ok(offline.error instanceof DeliveryError && offline.error.transient);
});

test('reported patches made offline are kept, survive a restart, and go up in order on reconnect', async () => {
  const state = new InMemoryStateStore();
  const first = buildUpstreamHub({ state });
  await first.sync.start();
  await first.twins.updateReported(SENSOR, { a: 1 });
  await first.twins.updateReported(AGENT, { lastDesiredVersion: 3 });
  await first.twins.updateReported(SENSOR, { a: 2, b: true });
  await first.sync.idle();
  assert.equal((await state.list(REPORTED_OUTBOX_NAMESPACE)).length, 3);
  await first.sync.stop();

  const upstream = new FakeUpstream();
  const second = buildUpstreamHub({ state, upstream });
  await second.sync.start();
  await second.twins.updateReported(SENSOR, { c: 3 });
  upstream.setConnected(true);
  await eventually(() => upstream.reportedLog.length === 4, 5000, '4 reported patches');
  await second.sync.idle();
  assert.deepEqual(upstream.reportedLog.map((r) => [r.identity, r.patch]), [
    ['edge1/sensor', { a: 1 }],
    ['edge1/$edgeAgent', { lastDesiredVersion: 3 }],
    ['edge1/sensor', { a: 2, b: true }],
    ['edge1/sensor', { c: 3 }],
  ]);
  assert.deepEqual(upstream.twin(SENSOR).reported.properties, { a: 2, b: true, c: 3 });
  assert.equal((await state.list(REPORTED_OUTBOX_NAMESPACE)).length, 0);
  // Online: sent at once.
  await second.twins.updateReported(SENSOR, { d: 4 });
  await eventually(() => upstream.reportedLog.length === 5, 5000, 'online patch');
  await second.sync.stop();
});

test('a reported patch the cloud refuses is dropped; a transient failure keeps it and retries', async () => {
  const h = buildUpstreamHub();
  h.upstream.setConnected(true);
  await h.sync.start();
  await h.sync.idle();
  let transient = 1;
  h.upstream.failReported = (_id, patch) => {
    if (patch['bad'] !== undefined) return new UpstreamError('400', false, 400);
    if (patch['x'] !== undefined && transient-- > 0) return new UpstreamError('timeout', true);
    return undefined;
  };
  await h.twins.updateReported(SENSOR, { bad: 1 });
  await h.twins.updateReported(SENSOR, { x: 1 });
  await eventually(() => h.logger.lines.some((l) => l.message.includes('retrying')), 5000, 'retry logged');
  h.clock.advance(5_000);
  await eventually(() => h.upstream.reportedLog.length === 1, 5000, 'retried');
  assert.deepEqual(h.upstream.reportedLog.map((r) => r.patch), [{ x: 1 }]);
  await h.sync.stop();
});

test('$edgeAgent desired from the cloud becomes the deployment; $edgeHub routes applied (200) or refused (400, previous routes kept)', async () => {
  const h = buildUpstreamHub();
  h.upstream.setConnected(true);
  await h.sync.start();
  await h.hubDeployment.start();
  await h.sync.idle();
  assert.deepEqual(h.upstream.features.get('edge1/$edgeAgent'), new Set(['desired']));
  assert.equal(h.deployment.current()?.deployment.agent.ok, false, 'empty $edgeAgent twin: nothing to run yet');

  await h.upstream.setDesired(AGENT, { ...manifestModules, modules: { sensor: processModule() as JsonObject }, $version: 2 });
  await eventually(() => h.deployment.current()?.version === 2, 5000, 'deployment version 2');
  assert.equal(h.deployment.current()?.deployment.agent.ok, true);
  await h.sync.idle();
  assert.deepEqual(h.upstream.modulesCreated, ['sensor'], 'the deployed module gets an identity in the cloud');

  await h.upstream.setDesired(HUB, { schemaVersion: '1.1', routes: { up: 'FROM /messages/* INTO $upstream', toB: 'FROM /messages/modules/a/* INTO BrokeredEndpoint("/modules/b/inputs/in")' }, storeAndForwardConfiguration: { timeToLiveSecs: 60 }, $version: 2 });
  await eventually(() => h.routes.table.size === 2, 5000, 'routes applied');
  assert.equal(h.options.timeToLiveSecs, 60);
  await eventually(() => h.upstream.twin(HUB).reported.properties['lastDesiredVersion'] === 2, 5000, '$edgeHub reported');
  assert.deepEqual(h.upstream.twin(HUB).reported.properties['lastDesiredStatus'], { code: 200, description: '' });
  assert.equal(h.deployment.current()?.version, 2, 'the agent version did not move');

  await h.upstream.setDesired(HUB, { routes: { broken: 'FROM nowhere INTO' }, $version: 3 });
  await eventually(() => h.upstream.twin(HUB).reported.properties['lastDesiredVersion'] === 3, 5000, '$edgeHub reported 400');
  const status = h.upstream.twin(HUB).reported.properties['lastDesiredStatus'] as { code: number; description: string };
  assert.equal(status.code, 400);
  assert.match(status.description, /Error while parsing desired properties/);
  assert.equal(h.routes.table.size, 2, 'previous routes keep running');
  await h.hubDeployment.stop();
  await h.sync.stop();
});

test('reconnect: the full twin is fetched and what changed meanwhile is pushed to the listening client; a version gap refetches', async () => {
  const h = buildUpstreamHub();
  const sensor = channel(SENSOR, ['twin-desired']);
  h.directory.register(sensor);
  h.upstream.setConnected(true);
  await h.sync.start();
  await h.sync.idle();
  assert.deepEqual(h.upstream.features.get('edge1/sensor'), new Set(['desired']));
  await h.upstream.setDesired(SENSOR, { interval: 5, $version: 2 });
  await h.sync.idle();
  assert.deepEqual(sensor.desired.at(-1), { patch: { interval: 5, $version: 2 }, version: 2 });

  h.upstream.setConnected(false);
  await h.upstream.setDesired(SENSOR, { interval: 10, $version: 3 });
  await h.upstream.setDesired(SENSOR, { unit: 'C', $version: 4 });
  assert.equal(sensor.desired.length, 1, 'nothing pushed while offline');
  h.upstream.setConnected(true);
  await h.sync.idle();
  assert.deepEqual(sensor.desired.at(-1), { patch: { interval: 10, unit: 'C', $version: 4 }, version: 4 });
  assert.deepEqual((await h.twins.get(SENSOR)).desired, { $version: 4, properties: { interval: 10, unit: 'C' } });

  // A patch that skips a version: the local twin takes it, then the full twin is fetched.
  h.upstream.twins.set('edge1/sensor', { ...h.upstream.twin(SENSOR), desired: { $version: 7, properties: { interval: 1, unit: 'F', mode: 'x' } } });
  await h.upstream.handlers!.desiredPatch(SENSOR, { interval: 1, $version: 7 });
  await h.sync.idle();
  assert.deepEqual((await h.twins.get(SENSOR)).desired, { $version: 7, properties: { interval: 1, unit: 'F', mode: 'x' } });
  await h.sync.stop();
});

test('cloud methods reach the client through MethodService and the response returns; C2D goes to the inbox', async () => {
  const h = buildUpstreamHub();
  const leaf = channel(LEAF, ['methods', 'c2d', 'twin-desired']);
  h.directory.register(leaf);
  h.upstream.setConnected(true);
  await h.sync.start();
  await h.sync.idle();
  assert.deepEqual(h.upstream.features.get('leaf1'), new Set(['desired', 'methods', 'c2d']));

  const call = h.upstream.handlers!.method(LEAF, { name: 'reboot', payload: { delay: 1 }, timeoutMs: 10_000 });
  await settle();
  assert.equal(leaf.methods.length, 1);
  assert.equal(leaf.methods[0]!.payload, '{"delay":1}');
  h.methods.handleResponse(LEAF, leaf.methods[0]!.rid, 200, text.encode('{"ok":true}'));
  assert.deepEqual(await call, { status: 200, payload: { ok: true } });
  assert.equal((await h.upstream.handlers!.method(SENSOR, { name: 'x', payload: undefined })).status, 404, 'not connected: 404 back to the cloud');

  await h.upstream.handlers!.cloudToDevice(LEAF, { body: text.encode('hi'), properties: { k: 'v' }, systemProperties: { messageId: 'c1' } });
  assert.equal(h.inbox.received.length, 1);
  assert.equal(h.inbox.received[0]!.message.systemProperties['messageId'], 'c1');

  h.directory.unregister(leaf);
  await h.sync.idle();
  assert.deepEqual(h.upstream.features.get('leaf1'), new Set(), 'links released when the client leaves');
  await h.sync.stop();
});

test('$edgeAgent methods from the cloud go to AgentMethods when the agent runs here', async () => {
  const calls: Array<[string, unknown]> = [];
  const agentMethods = { invoke: async (name: string, payload: unknown) => (calls.push([name, payload]), { status: 200, payload: { pong: true } }) } as unknown as AgentMethods;
  const h = buildUpstreamHub({ agentMethods });
  h.upstream.setConnected(true);
  await h.sync.start();
  await h.sync.idle();
  assert.deepEqual(h.upstream.features.get('edge1/$edgeAgent'), new Set(['desired', 'methods']));
  assert.deepEqual(await h.upstream.handlers!.method(AGENT, { name: 'ping', payload: undefined }), { status: 200, payload: { pong: true } });
  assert.deepEqual(calls, [['ping', undefined]]);
  await h.sync.stop();
});

test('device scope is cached for offline authentication; identities the cloud drops are removed, local ones kept', async () => {
  const h = buildUpstreamHub();
  const creds = (k: string) => ({ primaryKey: Buffer.from(`${k}-primary-key-000000000000000`).toString('base64'), secondaryKey: Buffer.from(`${k}-secondary-key-0000000000000`).toString('base64') });
  await h.identities.put(parseIdentity('local-only'), creds('local'));
  h.upstream.scope = [
    { identity: LEAF, credentials: creds('leaf1') },
    { identity: SENSOR, credentials: creds('sensor') },
  ];
  h.upstream.setConnected(true);
  await h.sync.start();
  await h.sync.idle();
  assert.deepEqual(await h.identities.get(LEAF), creds('leaf1'));
  assert.deepEqual(await h.identities.get(SENSOR), creds('sensor'));

  // The cloud goes away: the cache stays.
  h.upstream.setConnected(false);
  h.clock.advance(3_600_000);
  await h.sync.idle();
  assert.deepEqual(await h.identities.get(LEAF), creds('leaf1'));

  h.upstream.scope = [{ identity: SENSOR, credentials: { ...creds('sensor'), status: 'disabled' } }];
  h.upstream.setConnected(true);
  await h.sync.idle();
  assert.equal(await h.identities.get(LEAF), undefined, 'removed from the scope');
  assert.equal((await h.identities.get(SENSOR))?.status, 'disabled');
  assert.ok(await h.identities.get(parseIdentity('local-only')), 'locally created identity kept');
  await h.sync.stop();
});
