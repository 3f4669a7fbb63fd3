import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { type MqttFrameViolation, MqttFrameGuard } from '../../adapters/mqtt/mqtt-frame-guard.js';
import { chunkSizes, feedChunked } from './arbitraries.js';
import { fuzzFixtures, fuzzParameters } from './fuzz-fixtures.js';

// Fuzz target: the MQTT frame guard (adapters/mqtt/mqtt-frame-guard.ts), differential against
// mqtt-packet's parser (what aedes uses) and invariant under how the socket chunks the stream.

const TARGET = 'mqtt-frame-guard';

const text = fc.string({ maxLength: 40 });
const packet: fc.Arbitrary<mqttPacket.Packet> = fc.oneof(
  fc.record({ clientId: text, username: text, password: fc.uint8Array({ maxLength: 300 }), keepalive: fc.integer({ min: 0, max: 65535 }) }).map(
    (p) => ({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: p.clientId, keepalive: p.keepalive, username: p.username, password: Buffer.from(p.password) }) as mqttPacket.IConnectPacket,
  ),
  fc.record({ topic: fc.string({ minLength: 1, maxLength: 100 }), payload: fc.uint8Array({ maxLength: 20_000 }), qos: fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1>, messageId: fc.integer({ min: 1, max: 65535 }) }).map(
    (p) => ({ cmd: 'publish', topic: p.topic, payload: Buffer.from(p.payload), qos: p.qos, messageId: p.messageId, retain: false, dup: false }) as mqttPacket.IPublishPacket,
  ),
  fc.record({ topics: fc.array(fc.string({ minLength: 1, maxLength: 60 }), { minLength: 1, maxLength: 4 }), messageId: fc.integer({ min: 1, max: 65535 }) }).map(
    (p) => ({ cmd: 'subscribe', messageId: p.messageId, subscriptions: p.topics.map((topic) => ({ topic, qos: 1 as const })) }) as mqttPacket.ISubscribePacket,
  ),
  fc.integer({ min: 1, max: 65535 }).map((messageId) => ({ cmd: 'puback', messageId }) as mqttPacket.IPubackPacket),
  fc.constant({ cmd: 'pingreq' } as mqttPacket.IPingreqPacket),
  fc.constant({ cmd: 'disconnect' } as mqttPacket.IDisconnectPacket),
);

function run(bytes: Uint8Array, sizes: readonly number[], limit: number): { violation: MqttFrameViolation | undefined; types: number[] } {
  const types: number[] = [];
  const guard = new MqttFrameGuard((type) => {
    types.push(type);
    return limit;
  });
  return { violation: feedChunked(bytes, sizes, (chunk) => guard.feed(chunk)), types };
}

test('fuzz mqtt-frame-guard: replayed fixtures', () => {
  for (const { name, input } of fuzzFixtures<{ bytes: string; limit: number }>(TARGET)) {
    const bytes = Buffer.from(input.bytes, 'base64');
    assert.deepEqual(run(bytes, [1], input.limit), run(bytes, [], input.limit), name);
  }
});

test('fuzz mqtt-frame-guard: valid packet streams pass in any chunking, one check per packet, in the order mqtt-packet parses them', () => {
  fc.assert(
    fc.property(fc.array(packet, { minLength: 1, maxLength: 8 }), chunkSizes, (packets, sizes) => {
      const stream = Buffer.concat(packets.map((p) => mqttPacket.generate(p)));
      const parsed: string[] = [];
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      parser.on('packet', (p: mqttPacket.Packet) => parsed.push(p.cmd));
      parser.parse(stream);
      const { violation, types } = run(stream, sizes, Number.MAX_SAFE_INTEGER);
      assert.equal(violation, undefined);
      assert.deepEqual(types.map((t) => TYPE_NAMES[t]), parsed);
    }),
    fuzzParameters(2_000, 1 / 2),
  );
});

const TYPE_NAMES: Record<number, string> = { 1: 'connect', 3: 'publish', 4: 'puback', 8: 'subscribe', 12: 'pingreq', 14: 'disconnect' };

test('fuzz mqtt-frame-guard: any bytes give the same finding however they are chunked; no packet over the limit passes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2_000 }), chunkSizes, fc.integer({ min: 0, max: 5_000 }), (bytes, sizes, limit) => {
      const whole = run(bytes, [], limit);
      const pieces = run(bytes, sizes, limit);
      assert.deepEqual(pieces, whole);
      if (whole.violation?.reason === 'packet-too-large') assert.ok(whole.violation.declared > limit);
      // Independently: walk the packets; every complete header before the finding declared <= limit.
      let i = 0;
      for (let n = 0; n < whole.types.length && whole.violation === undefined; n++) {
        let length = 0;
        let multiplier = 1;
        let j = i + 1;
        for (; j < bytes.length; j++) {
          length += (bytes[j]! & 0x7f) * multiplier;
          multiplier *= 128;
          if ((bytes[j]! & 0x80) === 0) break;
        }
        assert.ok(length <= limit, `a packet declaring ${length} > ${limit} passed`);
        i = j + 1 + length;
      }
    }),
    fuzzParameters(5_000, 1 / 2),
  );
});
