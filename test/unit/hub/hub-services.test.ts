import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Identity, parseIdentity } from '../../../domain/identity/identity.js';
import type { Message } from '../../../domain/messages/message.js';
import type { JsonObject } from '../../../domain/twins/json.js';
import { TwinValidationError } from '../../../domain/twins/twin-limits.js';
import { ClientDirectory } from '../../../application/hub/client-directory.js';
import { ClientEndpointDelivery } from '../../../application/hub/client-endpoint-delivery.js';
import { HubIdentity } from '../../../application/hub/hub-identity.js';
import { MethodService } from '../../../application/hub/method-service.js';
import { TwinService } from '../../../application/hub/twin-service.js';
import { TwinStore } from '../../../application/hub/twin-store.js';
import { DeliveryError } from '../../../application/ports/endpoint-delivery.js';
import { InMemoryMessageStore } from '../../../adapters/storage/in-memory-message-store.js';
import { FakeChannel } from '../../support/fake-client-channel.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FixedRandom, SilentLogger, buildPipeline } from '../../support/pipeline-harness.js';
import { InMemoryStateStore } from '../../support/in-memory-state-store.js';

const HUB = new HubIdentity('edge1', 'hub.example');
const msg = (id: string): Message => ({ body: new TextEncoder().encode(id), properties: { id }, systemProperties: {} });

test('ClientEndpointDelivery: module endpoints available while the module listens to inputs; delivered = acknowledged prefix', async () => {
  const directory = new ClientDirectory();
  const delivery = new ClientEndpointDelivery(directory, HUB);
  const endpoint = { type: 'module' as const, id: 'B/input1', module: 'B', input: 'input1' };
  const changes: Array<[string, boolean]> = [];
  delivery.onAvailabilityChange((id, available) => changes.push([id, available]));
  assert.equal(delivery.isAvailable(endpoint), false);
  assert.equal(delivery.isAvailable({ type: 'upstream', id: '$upstream' }), false, 'no upstream yet');

  const b = new FakeChannel(parseIdentity('edge1/B'));
  directory.register(b);
  assert.equal(delivery.isAvailable(endpoint), false, 'connected but not subscribed');
  b.features.add('inputs');
  directory.changed(b.identity);
  assert.equal(delivery.isAvailable(endpoint), true);
  assert.deepEqual(changes, [['B/input1', true]]);
  assert.equal(delivery.isAvailable({ ...endpoint, module: 'B', id: 'B/x' }), true);
  // A module of another device with the same module id is not this edge device's module.
  const other = new FakeChannel(parseIdentity('edge2/C'));
  other.features.add('inputs');
  directory.register(other);
  assert.equal(delivery.isAvailable({ type: 'module', id: 'C/i', module: 'C', input: 'i' }), false);

  const pending = delivery.deliver(endpoint, [msg('1'), msg('2'), msg('3')]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(b.inputs.map((i) => i.input), ['input1', 'input1', 'input1']);
  b.inputs[0]!.ack();
  b.inputs[1]!.ack();
  b.inputs[2]!.fail(new DeliveryError('gone', true));
  const result = await pending;
  assert.equal(result.delivered, 2);
  assert.ok(result.error instanceof DeliveryError && result.error.transient);

  directory.unregister(b);
  assert.equal(delivery.isAvailable(endpoint), false);
  assert.deepEqual(changes.slice(-2), [['B/input1', false], ['B/x', false]]);
  const offline = await delivery.deliver(endpoint, [msg('4')]);
  assert.equal(offline.delivered, 0);
  assert.ok(offline.error instanceof DeliveryError && offline.error.transient);
});

test('ClientDirectory: a takeover replaces the channel; the old one unregistering does not remove the new one', () => {
  const directory = new ClientDirectory();
  const first = new FakeChannel(parseIdentity('leaf'));
  const second = new FakeChannel(parseIdentity('leaf'));
  directory.register(first);
  directory.register(second);
  directory.unregister(first);
  assert.equal(directory.get(parseIdentity('leaf')), second);
});

test('MethodService: correlates by request id and identity, 404 offline or not listening, 504 on the clock', async () => {
  const directory = new ClientDirectory();
  const clock = new FakeClock();
  const methods = new MethodService(directory, clock, new FixedRandom(), new SilentLogger());
  const id = parseIdentity('edge1/B');
  assert.equal((await methods.invoke(id, 'm', null)).status, 404);
  const b = new FakeChannel(id);
  directory.register(b);
  assert.equal((await methods.invoke(id, 'm', null)).status, 404, 'not subscribed to methods');
  b.features.add('methods');

  const call = methods.invoke(id, 'reboot', { after: 5 }, 10_000);
  assert.equal(b.methods.length, 1);
  assert.equal(b.methods[0]!.payload, '{"after":5}');
  methods.handleResponse(parseIdentity('edge1/A'), b.methods[0]!.rid, 200, new TextEncoder().encode('{"spoofed":true}'));
  methods.handleResponse(id, b.methods[0]!.rid, 201, new TextEncoder().encode('{"ok":true}'));
  assert.deepEqual(await call, { status: 201, payload: { ok: true } });

  const empty = methods.invoke(id, 'ping', undefined, 1000);
  assert.equal(b.methods[1]!.payload, 'null', 'no payload is sent as JSON null (the SDK answers an empty body with 400)');
  clock.advance(999);
  assert.equal(methods.inFlight, 1);
  clock.advance(1);
  assert.equal((await empty).status, 504);
  methods.handleResponse(id, b.methods[1]!.rid, 200, new Uint8Array());
  assert.equal(methods.inFlight, 0);
});

test('TwinService: reported patches serialized and versioned, notifications ingested, desired pushed only to listening clients', async () => {
  const store = new InMemoryMessageStore();
  const clock = new FakeClock();
  const pipeline = buildPipeline({ store, clock, routes: { twins: 'FROM /twinChangeNotifications INTO $upstream' } });
  await store.open();
  const directory = new ClientDirectory();
  const twins = new TwinService(new TwinStore(new InMemoryStateStore()), directory, pipeline.ingest, clock, HUB, new SilentLogger());
  const id = parseIdentity('edge1/B');

  const results = await Promise.all([twins.updateReported(id, { a: 1 }), twins.updateReported(id, { b: 2 }), twins.updateReported(id, { a: null })]);
  assert.deepEqual(results.map((r) => r.version), [2, 3, 4]);
  const twin = await twins.get(id);
  assert.deepEqual(twin.reported.properties, { b: 2 });
  assert.equal(store.queues().find((q) => q.endpointId === '$upstream')?.length, 3);
  await assert.rejects(twins.updateReported(id, { 'bad.name': 1 }), TwinValidationError);

  const b = new FakeChannel(id);
  directory.register(b);
  await twins.updateDesired(id, { x: 1 });
  assert.equal(b.desired.length, 0, 'not listening for desired updates');
  b.features.add('twin-desired');
  const update = await twins.updateDesired(id, { y: 2 });
  assert.ok(update.applied);
  assert.deepEqual(b.desired, [{ patch: { y: 2, $version: 3 }, version: 3 }]);
  const stale = await twins.updateDesired(id, { $version: 3, z: 1 });
  assert.equal(stale.applied, false);
  assert.deepEqual((await twins.get(id)).desired, { $version: 3, properties: { x: 1, y: 2 } });
});
