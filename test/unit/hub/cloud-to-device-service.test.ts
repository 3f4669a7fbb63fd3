import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceIdentity } from '../../../domain/identity/identity.js';
import { ClientDirectory } from '../../../application/hub/client-directory.js';
import { CloudToDeviceError, CloudToDeviceOptions, CloudToDeviceService, c2dNamespace } from '../../../application/hub/cloud-to-device-service.js';
import { DeliveryError } from '../../../application/ports/endpoint-delivery.js';
import { InMemoryIdentityStore } from '../../../adapters/identity/in-memory-identity-store.js';
import { FakeChannel } from '../../support/fake-client-channel.js';
import { FakeClock } from '../../support/fake-clock.js';
import { InMemoryStateStore } from '../../support/in-memory-state-store.js';
import { FixedRandom, SilentLogger } from '../../support/pipeline-harness.js';

const text = (body: Uint8Array): string => new TextDecoder().decode(body);
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

async function setup(options: Partial<CloudToDeviceOptions> = {}) {
  const state = new InMemoryStateStore();
  const directory = new ClientDirectory();
  const identities = new InMemoryIdentityStore();
  await identities.put(deviceIdentity('leaf'), { primaryKey: 'a2V5', secondaryKey: 'a2V5' });
  const clock = new FakeClock();
  const logger = new SilentLogger();
  const make = () => new CloudToDeviceService(state, directory, identities, clock, new FixedRandom(), new CloudToDeviceOptions(options), logger);
  const service = make();
  await service.start();
  return { state, directory, clock, logger, service, make };
}

async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await settle();
  assert.ok(condition(), what);
}

async function eventually(what: string, condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await settle();
  }
  assert.fail(what);
}

test('C2D: queued while offline, delivered in order one at a time, removed only after the client accepted it', async () => {
  const { state, directory, service } = await setup();
  const first = await service.send({ deviceId: 'leaf', body: new TextEncoder().encode('one'), properties: { k: 'v' }, messageId: 'm1', contentType: 'application/json', contentEncoding: 'utf-8', ack: 'full' });
  assert.deepEqual([first.messageId, first.queued], ['m1', 1]);
  await service.send({ deviceId: 'leaf', body: new TextEncoder().encode('two') });
  assert.equal((await state.list(c2dNamespace('leaf'))).length, 2, 'both stored');

  const channel = new FakeChannel(deviceIdentity('leaf'));
  directory.register(channel);
  await settle();
  assert.equal(channel.c2d.length, 0, 'not listening for C2D yet');
  channel.features.add('c2d');
  directory.changed(channel.identity);
  await until('first delivery', () => channel.c2d.length === 1);
  const m1 = channel.c2d[0]!.message;
  assert.equal(text(m1.body), 'one');
  assert.deepEqual(m1.properties, { k: 'v', 'iothub-ack': 'full' });
  assert.equal(m1.systemProperties['messageId'], 'm1');
  assert.equal(m1.systemProperties['to'], '/devices/leaf/messages/devicebound');
  assert.equal(m1.systemProperties['contentType'], 'application/json');
  assert.equal(m1.systemProperties['contentEncoding'], 'utf-8');
  assert.equal(m1.systemProperties['absolute-expiry-time'], new Date(Date.UTC(2026, 0, 1) + 3_600_000).toISOString(), 'default TTL 1 h');
  await settle();
  assert.equal(channel.c2d.length, 1, 'the second waits for the first acknowledgement');
  assert.equal((await state.list(c2dNamespace('leaf'))).length, 2, 'nothing removed before the ack');

  channel.c2d[0]!.ack();
  await until('second delivery', () => channel.c2d.length === 2);
  assert.equal(text(channel.c2d[1]!.message.body), 'two');
  assert.equal((await state.list(c2dNamespace('leaf'))).length, 1);
  // The connection ends before the ack: the message stays for the next connection.
  channel.c2d[1]!.fail(new DeliveryError('gone', true));
  await settle();
  assert.equal((await service.pending('leaf')).length, 1);

  const again = new FakeChannel(deviceIdentity('leaf'));
  again.features.add('c2d');
  directory.register(again);
  await until('redelivery on the new connection', () => again.c2d.length === 1);
  assert.equal(text(again.c2d[0]!.message.body), 'two');
  again.c2d[0]!.ack();
  await eventually('queue empty after the ack', async () => (await service.pending('leaf')).length === 0);
});

test('C2D: survives a restart of the service (durable, in order, sequence continues)', async () => {
  const { state, directory, service, make } = await setup();
  await service.send({ deviceId: 'leaf', body: new TextEncoder().encode('a') });
  await service.stop();
  const restarted = make();
  await restarted.start();
  await restarted.send({ deviceId: 'leaf', body: new TextEncoder().encode('b') });
  assert.deepEqual((await state.list(c2dNamespace('leaf'))).map((e) => e.key), ['0000000000000001', '0000000000000002']);
  const channel = new FakeChannel(deviceIdentity('leaf'));
  channel.features.add('c2d');
  directory.register(channel);
  await until('a', () => channel.c2d.length === 1);
  channel.c2d[0]!.ack();
  await until('b', () => channel.c2d.length === 2);
  assert.deepEqual(channel.c2d.map((d) => text(d.message.body)), ['a', 'b']);
});

test('C2D limits: 50 queued per device, unknown device, size, TTL; expired messages are dropped, refused ones removed', async () => {
  const { clock, directory, logger, service } = await setup();
  const body = new TextEncoder().encode('x');
  for (let i = 0; i < 50; i++) await service.send({ deviceId: 'leaf', body });
  await assert.rejects(service.send({ deviceId: 'leaf', body }), (e: unknown) => e instanceof CloudToDeviceError && e.code === 'queue-full' && e.status === 403 && /already has 50/.test(e.message));
  await assert.rejects(service.send({ deviceId: 'nobody', body }), (e: unknown) => e instanceof CloudToDeviceError && e.status === 404 && /edgeport identity add nobody/.test(e.message));
  await assert.rejects(service.send({ deviceId: 'a/b', body }), (e: unknown) => e instanceof CloudToDeviceError && e.status === 400);
  await assert.rejects(service.send({ deviceId: 'leaf', body: new Uint8Array(64 * 1024 + 1) }), (e: unknown) => e instanceof CloudToDeviceError && e.code === 'message-too-large');
  await assert.rejects(service.send({ deviceId: 'leaf', body, ttlSeconds: 49 * 3600 }), (e: unknown) => e instanceof CloudToDeviceError && /48 hours/.test(e.message));

  // After the default hour all 50 expired: they no longer count, and are never delivered.
  clock.advance(3_600_001);
  await service.send({ deviceId: 'leaf', body: new TextEncoder().encode('fresh'), ttlSeconds: 60 });
  await service.send({ deviceId: 'leaf', body: new TextEncoder().encode('refused') });
  assert.equal((await service.pending('leaf')).length, 2, 'expired ones were swept at send');
  assert.ok(logger.lines.some((l) => l.message === 'cloud-to-device message dropped (expired)'));
  const channel = new FakeChannel(deviceIdentity('leaf'));
  channel.features.add('c2d');
  directory.register(channel);
  await until('fresh', () => channel.c2d.length === 1);
  assert.equal(text(channel.c2d[0]!.message.body), 'fresh');
  channel.c2d[0]!.ack();
  await until('refused', () => channel.c2d.length === 2);
  channel.c2d[1]!.fail(new DeliveryError('client rejected it', false));
  await until('removed', () => logger.lines.some((l) => l.message === 'cloud-to-device message dropped (rejected)'));
  await eventually('queue empty', async () => (await service.pending('leaf')).length === 0);
});
