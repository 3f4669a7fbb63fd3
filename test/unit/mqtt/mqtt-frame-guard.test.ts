import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqttPacket from 'mqtt-packet';
import { MQTT_CONNECT, MQTT_PUBLISH, MqttFrameGuard } from '../../../adapters/mqtt/mqtt-frame-guard.js';

const packets: mqttPacket.Packet[] = [
  { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: false, clientId: 'edge1/mod1', keepalive: 180, username: 'hub/edge1/mod1/?api-version=2021-04-12', password: Buffer.from('SharedAccessSignature sr=x&sig=y&se=1') },
  { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'devices/edge1/modules/mod1/inputs/#', qos: 1 }] },
  { cmd: 'publish', topic: 'devices/edge1/modules/mod1/messages/events/', payload: Buffer.alloc(200_000, 7), qos: 1, messageId: 2, retain: false, dup: false },
  { cmd: 'pingreq' },
  { cmd: 'publish', topic: '$iothub/twin/GET/?$rid=1', payload: Buffer.from(' '), qos: 0, retain: false, dup: false },
  { cmd: 'puback', messageId: 9 },
  { cmd: 'disconnect' },
];
const stream = Buffer.concat(packets.map((p) => mqttPacket.generate(p)));

test('MQTT frame guard: a real packet sequence passes in any chunking, one limit check per packet in order', () => {
  for (const chunkSize of [1, 2, 3, 7, 100, 4096, stream.length]) {
    const seen: number[] = [];
    const guard = new MqttFrameGuard((type) => {
      seen.push(type);
      return 300_000;
    });
    for (let i = 0; i < stream.length; i += chunkSize) assert.equal(guard.feed(stream.subarray(i, i + chunkSize)), undefined, `chunk size ${chunkSize}`);
    assert.deepEqual(seen, [1, 8, 3, 12, 3, 4, 14], `chunk size ${chunkSize}`);
  }
});

test('MQTT frame guard: a CONNECT declaring 256 MB is refused on its 5-byte fixed header, before any body byte', () => {
  const guard = new MqttFrameGuard((type) => (type === MQTT_CONNECT ? 8192 : 300_000));
  assert.equal(guard.feed(Buffer.from([0x10, 0xff, 0xff])), undefined, 'the length is not complete yet');
  assert.deepEqual(guard.feed(Buffer.from([0xff, 0x7f])), { reason: 'packet-too-large', packetType: MQTT_CONNECT, declared: 268_435_455, limit: 8192 });
  assert.deepEqual(guard.feed(Buffer.alloc(10)), { reason: 'packet-too-large', packetType: MQTT_CONNECT, declared: 268_435_455, limit: 8192 }, 'stays refused');
});

test('MQTT frame guard: the limit applies per packet (the largest allowed passes, one byte more does not)', () => {
  const limit = 1000;
  const fits = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(limit - 3), qos: 0, retain: false, dup: false });
  const over = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(limit - 2), qos: 0, retain: false, dup: false });
  const guard = new MqttFrameGuard(() => limit);
  assert.equal(guard.feed(fits), undefined);
  assert.deepEqual(guard.feed(over), { reason: 'packet-too-large', packetType: MQTT_PUBLISH, declared: limit + 1, limit });
});

test('MQTT frame guard: a remaining length longer than four bytes is malformed', () => {
  const guard = new MqttFrameGuard(() => Number.MAX_SAFE_INTEGER);
  assert.deepEqual(guard.feed(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01])), { reason: 'malformed-remaining-length', packetType: MQTT_PUBLISH });
});

test('MQTT frame guard: a QoS 2 PUBLISH is refused on its first byte; QoS 0 and 1 pass', () => {
  const qos2 = mqttPacket.generate({ cmd: 'publish', topic: 'devices/d/messages/events/', payload: Buffer.from('x'), qos: 2, messageId: 1, retain: false, dup: false });
  const guard = new MqttFrameGuard(() => 300_000);
  for (const qos of [0, 1] as const) assert.equal(guard.feed(mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos, messageId: 1, retain: false, dup: false })), undefined);
  assert.deepEqual(guard.feed(qos2.subarray(0, 1)), { reason: 'qos2-publish', packetType: MQTT_PUBLISH });
});
