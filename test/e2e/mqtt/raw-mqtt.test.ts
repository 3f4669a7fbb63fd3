import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync, type MqttClient, type IClientOptions } from 'mqtt';
import { sdkDeviceToken } from '../../support/identity/sdk-sas-token.js';
import { IOT_HUB, startHub, within, type Hub } from '../../support/mqtt/hub-harness.js';

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A raw MQTT.js 5 client speaking 3.1.1 like the SDK (clean=false), on the plain port. */
async function rawClient(hub: Hub, id: string, key: string, extra: Partial<IClientOptions> = {}): Promise<MqttClient> {
  const [deviceId, moduleId] = id.split('/') as [string, string | undefined];
  const password = sdkDeviceToken({ host: IOT_HUB, deviceId, ...(moduleId !== undefined ? { moduleId } : {}), key, expiry: Math.floor(Date.now() / 1000) + 3600 });
  return await within(5000, `connect ${id}`, connectAsync({
    host: '127.0.0.1',
    port: hub.plainPort,
    protocolVersion: 4,
    clientId: id,
    clean: false,
    reconnectPeriod: 0,
    username: `${IOT_HUB}/${id}/?api-version=2021-04-12`,
    password,
    ...extra,
  }));
}

/** The SUBACK return code (MQTT.js 5 rejects on 0x80; the Azure SDK's MQTT.js 4 does not). */
async function granted(client: MqttClient, filter: string, qos: 0 | 1): Promise<number | undefined> {
  try {
    return (await client.subscribeAsync(filter, { qos }))[0]?.qos;
  } catch (error) {
    const packet = (error as { packet?: { granted?: number[] } }).packet;
    if (packet?.granted !== undefined) return packet.granted[0];
    throw error;
  }
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve();
    client.once('close', () => resolve());
  });
}

test('raw MQTT: module A may not subscribe to module B inputs (SUBACK 0x80) nor publish as B (disconnect)', { timeout: 20_000 }, async () => {
  const hub = await startHub({ plain: true });
  const clients: MqttClient[] = [];
  try {
    const a = await hub.addIdentity('edge1/A');
    await hub.addIdentity('edge1/B');
    const client = await rawClient(hub, 'edge1/A', a.key);
    clients.push(client);
    assert.equal(await granted(client, 'devices/edge1/modules/B/inputs/#', 1), 128);
    assert.equal(await granted(client, '#', 1), 128);
    assert.equal(await granted(client, 'devices/edge1/messages/devicebound/#', 1), 128, 'modules have no C2D queue');
    assert.equal(await granted(client, 'devices/edge1/modules/A/inputs/#', 1), 1);
    assert.ok(hub.logger.lines.some((l) => l.message === 'subscription refused' && l.fields?.['reason'] === 'other-identity'));

    const gone = closed(client);
    client.publish('devices/edge1/modules/B/messages/events/', 'spoof', { qos: 1 });
    await within(5000, 'disconnect after a spoofed publish', gone);
    assert.ok(hub.logger.lines.some((l) => l.message === 'publish refused, closing connection' && l.fields?.['reason'] === 'other-identity'));
  } finally {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await hub.close();
  }
});

test('raw MQTT: bad CONNECTs get CONNACK 5 (unknown identity, wrong host, token for another identity)', { timeout: 20_000 }, async () => {
  const hub = await startHub({ plain: true });
  try {
    const a = await hub.addIdentity('edge1/A');
    await assert.rejects(rawClient(hub, 'edge1/ghost', a.key), /Not authorized|5/i);
    await assert.rejects(rawClient(hub, 'edge1/A', a.key, { username: 'other-hub.example/edge1/A/?api-version=2021-04-12' }), /Not authorized|5/i);
    const tokenForA = sdkDeviceToken({ host: IOT_HUB, deviceId: 'edge1', moduleId: 'A', key: a.key, expiry: Math.floor(Date.now() / 1000) + 3600 });
    await hub.addIdentity('edge1/B');
    await assert.rejects(rawClient(hub, 'edge1/B', a.key, { password: tokenForA }), /Not authorized|5/i);
    const reasons = hub.logger.lines.filter((l) => l.message === 'connection refused').map((l) => l.fields?.['reason']);
    assert.deepEqual(reasons, ['unknown-identity', 'unexpected-host', 'wrong-resource']);
  } finally {
    await hub.close();
  }
});

test('raw MQTT: clean=false keeps the inputs subscription across a reconnect; delivery waits for the module; topic format', { timeout: 20_000 }, async () => {
  const hub = await startHub({ plain: true, routes: { r: 'FROM /messages/modules/A/outputs/output1 INTO BrokeredEndpoint("/modules/B/inputs/input1")' } });
  const clients: MqttClient[] = [];
  try {
    const a = await hub.addIdentity('edge1/A');
    const b = await hub.addIdentity('edge1/B');
    const first = await rawClient(hub, 'edge1/B', b.key);
    await first.subscribeAsync('devices/edge1/modules/B/inputs/#', { qos: 1 });
    await first.endAsync();

    // B is offline: A's message is acknowledged (stored) and waits.
    const sender = await rawClient(hub, 'edge1/A', a.key);
    clients.push(sender);
    await within(5000, 'PUBACK for A', sender.publishAsync('devices/edge1/modules/A/messages/events/%24.on=output1&%24.mid=m1&k%20ey=v%2Fal/', 'hello', { qos: 1 }));

    // B comes back with clean=false and subscribes to nothing: the session's subscription is restored.
    const second = await rawClient(hub, 'edge1/B', b.key);
    clients.push(second);
    const got = await within(5000, 'input at B', new Promise<{ topic: string; payload: string }>((resolve) => second.on('message', (topic, payload) => resolve({ topic, payload: payload.toString() }))));
    assert.equal(got.payload, 'hello');
    const [prefix, bag] = [got.topic.slice(0, got.topic.lastIndexOf('/') + 1), got.topic.slice(got.topic.lastIndexOf('/') + 1)];
    assert.equal(prefix, 'devices/edge1/modules/B/inputs/input1/');
    const pairs = new Map(bag.split('&').map((p) => p.split('=').map(decodeURIComponent) as [string, string]));
    assert.equal(pairs.get('$.mid'), 'm1');
    assert.equal(pairs.get('$.cdid'), 'edge1');
    assert.equal(pairs.get('$.cmid'), 'A');
    assert.equal(pairs.get('k ey'), 'v/al');
    assert.equal(pairs.has('$.on'), false);
  } finally {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await hub.close();
  }
});

test('raw MQTT: a second CONNECT with the same client id takes over the first', { timeout: 20_000 }, async () => {
  const hub = await startHub({ plain: true });
  const clients: MqttClient[] = [];
  try {
    const b = await hub.addIdentity('edge1/B');
    const first = await rawClient(hub, 'edge1/B', b.key);
    clients.push(first);
    const firstClosed = closed(first);
    const second = await rawClient(hub, 'edge1/B', b.key);
    clients.push(second);
    await within(5000, 'first connection closed', firstClosed);
    await pause(100);
    assert.ok(second.connected);
    assert.equal((await second.subscribeAsync('$iothub/twin/res/#', { qos: 0 }))[0]?.qos, 0);
  } finally {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await hub.close();
  }
});

test('raw MQTT: a message over 256 KB is refused (no PUBACK, connection closed, reason logged)', { timeout: 20_000 }, async () => {
  const hub = await startHub({ plain: true, routes: { r: 'FROM /messages/* INTO $upstream' } });
  const clients: MqttClient[] = [];
  try {
    const d = await hub.addIdentity('leaf1');
    const client = await rawClient(hub, 'leaf1', d.key);
    clients.push(client);
    const gone = closed(client);
    client.publish('devices/leaf1/messages/events/', Buffer.alloc(300 * 1024, 1), { qos: 1 });
    await within(5000, 'disconnect', gone);
    assert.ok(hub.logger.lines.some((l) => l.message === 'message refused, closing connection' && l.fields?.['reason'] === 'MESSAGE_TOO_LARGE'));
  } finally {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await hub.close();
  }
});

test('raw MQTT: PUBACK means stored; an input is checkpointed only after the module PUBACKs it', { timeout: 20_000 }, async () => {
  const hub = await startHub({ plain: true, routes: { r: 'FROM /messages/modules/A/outputs/output1 INTO BrokeredEndpoint("/modules/B/inputs/input1")' } });
  const clients: MqttClient[] = [];
  const { MessageStore } = await import('../../../application/ports/message-store.js');
  const store = hub.get(MessageStore);
  const queued = (): number => store.queues().find((q) => q.endpointId === 'B/input1')?.length ?? 0;
  try {
    const a = await hub.addIdentity('edge1/A');
    const b = await hub.addIdentity('edge1/B');
    const sender = await rawClient(hub, 'edge1/A', a.key);
    clients.push(sender);
    await sender.publishAsync('devices/edge1/modules/A/messages/events/%24.on=output1/', 'one', { qos: 1 });
    assert.equal(queued(), 1, 'stored by the time the PUBACK arrived');

    // A module that receives but never acknowledges (MQTT.js sends PUBACK after handleMessage calls back).
    const silent = await rawClient(hub, 'edge1/B', b.key);
    clients.push(silent);
    silent.handleMessage = () => undefined;
    const seen = new Promise<void>((resolve) => silent.once('message', () => resolve()));
    await silent.subscribeAsync('devices/edge1/modules/B/inputs/#', { qos: 1 });
    await within(5000, 'delivery to the silent module', seen);
    await pause(300);
    assert.equal(queued(), 1, 'not checkpointed without PUBACK');
    await silent.endAsync(true);

    const acking = await rawClient(hub, 'edge1/B', b.key);
    clients.push(acking);
    const received: string[] = [];
    acking.on('message', (_t, p) => received.push(p.toString()));
    await within(5000, 'redelivery and checkpoint', (async () => {
      while (queued() !== 0 || received.length === 0) await pause(20);
    })());
    await pause(300);
    // aedes' own session copy of the unacknowledged packet is dropped (authorizeForward): the pump redelivers.
    assert.deepEqual(received, ['one']);
  } finally {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await hub.close();
  }
});

test("raw MQTT: a module subscribed with edgeHub's devices/<d>/modules/<m>/# form never gets its own outputs echoed; twin GET answers", { timeout: 20_000 }, async () => {
  const hub = await startHub({ plain: true });
  const clients: MqttClient[] = [];
  try {
    const a = await hub.addIdentity('edge1/A');
    const client = await rawClient(hub, 'edge1/A', a.key);
    clients.push(client);
    const topics: string[] = [];
    client.on('message', (topic) => topics.push(topic));
    assert.equal(await granted(client, 'devices/edge1/modules/A/#', 1), 1);
    assert.equal(await granted(client, '$iothub/twin/res/#', 0), 0);
    await client.publishAsync('devices/edge1/modules/A/messages/events/%24.on=out/', 'x', { qos: 1 });
    await client.publishAsync('$iothub/twin/GET/?$rid=42', ' ', { qos: 0 });
    await within(5000, 'twin response', (async () => {
      while (!topics.some((t) => t.startsWith('$iothub/twin/res/200/'))) await pause(20);
    })());
    await pause(200);
    assert.deepEqual(topics, ['$iothub/twin/res/200/?$rid=42']);
  } finally {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await hub.close();
  }
});

test('raw MQTT: a clean=true module gets its inputs and its PUBACKs checkpoint them', { timeout: 20_000 }, async () => {
  const hub = await startHub({ plain: true, routes: { r: 'FROM /messages/modules/A/outputs/output1 INTO BrokeredEndpoint("/modules/B/inputs/input1")' } });
  const clients: MqttClient[] = [];
  const { MessageStore } = await import('../../../application/ports/message-store.js');
  const store = hub.get(MessageStore);
  try {
    const a = await hub.addIdentity('edge1/A');
    const b = await hub.addIdentity('edge1/B');
    const receiver = await rawClient(hub, 'edge1/B', b.key, { clean: true });
    clients.push(receiver);
    const received: string[] = [];
    receiver.on('message', (_t, p) => received.push(p.toString()));
    await receiver.subscribeAsync('devices/edge1/modules/B/inputs/#', { qos: 1 });
    const sender = await rawClient(hub, 'edge1/A', a.key);
    clients.push(sender);
    for (let i = 0; i < 20; i++) await sender.publishAsync('devices/edge1/modules/A/messages/events/%24.on=output1/', `m${i}`, { qos: 1 });
    await within(5000, 'all delivered and checkpointed', (async () => {
      while (received.length < 20 || (store.queues().find((q) => q.endpointId === 'B/input1')?.length ?? 0) !== 0) await pause(20);
    })());
    assert.deepEqual(received, Array.from({ length: 20 }, (_, i) => `m${i}`));
  } finally {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await hub.close();
  }
});

test('the head throws ListenError naming hub.mqtt.port when the port is taken', { timeout: 20_000 }, async () => {
  const { createServer } = await import('node:net');
  const { ListenError } = await import('../../../application/ports/hosted-service.js');
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    await assert.rejects(startHub({ port }), (error: unknown) => {
      assert.ok(error instanceof ListenError);
      assert.equal(error.listen.setting, 'hub.mqtt.port');
      assert.equal(error.reason, 'EADDRINUSE');
      return true;
    });
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});
