import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import rhea, { type Message as AmqpMessage } from 'rhea';
import type { Message } from '../../domain/messages/message.js';
import { encodeAmqpMessage, expandBatch, fromAmqpMessage, toAmqpMessage } from '../../adapters/amqp/amqp-message.js';
import { codeUnit } from './arbitraries.js';
import { fuzzFixtures, fuzzParameters } from './fuzz-fixtures.js';

// Fuzz target: AMQP message mapping (adapters/amqp/amqp-message.ts). `encodeAmqpMessage`, the
// hand-written encoder of every module input and C2D message, must write byte for byte what rhea's
// encoder writes for `toAmqpMessage`; what it writes must decode back to the message (text as UTF-8
// carries it); and batches split back into their messages.

const TARGET = 'amqp-message';

/** Text of any code units, with lengths around the 255-byte boundary of AMQP's str8/str32 encodings. */
const text = fc.oneof(fc.string({ unit: codeUnit, maxLength: 20 }), fc.string({ unit: codeUnit, minLength: 80, maxLength: 140 }), fc.string({ minLength: 250, maxLength: 260 }));
const date = fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => new Date(ms).toISOString());

const message: fc.Arbitrary<Message> = fc.record({
  body: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 250, maxLength: 260 })),
  properties: fc.dictionary(text, text, { maxKeys: 6 }),
  systemProperties: fc.record(
    {
      messageId: text,
      correlationId: text,
      contentType: fc.constantFrom('application/json', 'text/plain; charset=utf-8', 'application/x-ü'),
      contentEncoding: fc.constantFrom('utf-8', 'gzip'),
      to: text,
      userId: fc.string({ maxLength: 20 }),
      'absolute-expiry-time': date,
      creationTime: date,
      connectionDeviceId: fc.string({ minLength: 1, maxLength: 20 }),
      connectionModuleId: fc.string({ minLength: 1, maxLength: 20 }),
      outputName: text,
    },
    { requiredKeys: [] },
  ),
});

function wellFormed(value: string): string {
  return Buffer.from(value, 'utf8').toString('utf8');
}

function encodersAgree(m: Message, annotations: Record<string, unknown>): void {
  const fast = encodeAmqpMessage(m, annotations);
  const reference = rhea.message.encode(toAmqpMessage(m, annotations));
  assert.equal(fast.toString('hex'), reference.toString('hex'));
}

test('fuzz amqp-message: replayed fixtures', () => {
  for (const { input } of fuzzFixtures<{ message: { body: string; properties: Record<string, string>; systemProperties: Record<string, string> }; annotations: Record<string, unknown> }>(TARGET)) {
    encodersAgree({ ...input.message, body: Buffer.from(input.message.body, 'base64') }, input.annotations);
  }
});

test('fuzz amqp-message: the fast encoder writes exactly what rhea writes, for any message', () => {
  fc.assert(
    fc.property(message, fc.dictionary(fc.constantFrom('x-opt-input-name', 'iothub-ack', 'x-custom'), text, { maxKeys: 2 }), (m, annotations) => encodersAgree(m, annotations)),
    fuzzParameters(3_000, 1 / 3),
  );
});

test('fuzz amqp-message: an encoded message decodes back to its body and properties (text as UTF-8 carries it)', () => {
  fc.assert(
    fc.property(message, (m) => {
      // AMQP symbols (content type and encoding) are ASCII: other text cannot travel in them.
      if (!/^[\x00-\x7f]*$/.test(m.systemProperties['contentType'] ?? '')) return;
      const decoded = fromAmqpMessage(rhea.message.decode(encodeAmqpMessage(m)) as unknown as AmqpMessage);
      assert.deepEqual(Buffer.from(decoded.body), Buffer.from(m.body));
      assert.deepEqual(decoded.properties, Object.fromEntries(Object.entries(m.properties).map(([k, v]) => [wellFormed(k), wellFormed(v as string)])));
      for (const name of ['messageId', 'correlationId', 'contentType', 'to'] as const) assert.equal(decoded.systemProperties[name], m.systemProperties[name] === undefined ? undefined : wellFormed(m.systemProperties[name]!));
    }),
    fuzzParameters(3_000, 1 / 3),
  );
});

test('fuzz amqp-message: batches split back into their messages; any bytes are split or refused with an Error', () => {
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 4 }), fc.uint8Array({ maxLength: 200 }), (messages, noise) => {
      const batch = rhea.message.encode({ body: rhea.message.data_sections(messages.map((m) => encodeAmqpMessage(m))) } as unknown as AmqpMessage);
      const split = expandBatch(batch);
      assert.equal(split.length, messages.length);
      split.forEach((amqp, i) => assert.deepEqual(Buffer.from(fromAmqpMessage(amqp).body), Buffer.from(messages[i]!.body)));
      try {
        expandBatch(Buffer.from(noise));
      } catch (error) {
        assert.ok(error instanceof Error, `threw ${String(error)}`);
      }
    }),
    fuzzParameters(2_000, 1 / 3),
  );
});
