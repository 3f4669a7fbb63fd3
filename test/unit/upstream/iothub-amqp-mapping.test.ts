import { test } from 'node:test';
import assert from 'node:assert/strict';
import rhea from 'rhea';
import type { Message } from '../../../domain/messages/message.js';
import { BATCHED_MESSAGE_FORMAT, MAX_BATCH_BYTES, encodeBatch, encodeEvent, encodeTransfers, toAmqpEvent } from '../../../adapters/iothub/amqp-mapping.js';
import { BATCHED_MESSAGE_FORMAT as SERVER_BATCHED_FORMAT, expandBatch, fromAmqpMessage } from '../../../adapters/amqp/amqp-message.js';

const TO = '/devices/edge1/modules/sensor/messages/events';
const long = 'x'.repeat(300);
const message = (body: number, properties: Record<string, string>, systemProperties: Record<string, string>): Message => ({
  body: new Uint8Array(Buffer.alloc(body, 0x41)),
  properties,
  systemProperties,
});

const variants: Array<[string, Message]> = [
  ['empty', message(0, {}, {})],
  ['1 KB with ids, content type and encoding, non-ASCII properties', message(1024, { a: 'b', ünï: 'çødé', [long]: long }, { messageId: 'm1', contentType: 'application/json', contentEncoding: 'utf-8' })],
  ['uuid id, 300-byte correlation id, expiry, output name, annotations', message(300, {}, { messageId: '6ba7b810-9dad-11d1-80b4-00c04fd430c8', correlationId: long, expiryTimeUtc: '2030-01-01T00:00:00.000Z', outputName: 'out1', 'dt-subject': 's', 'iothub-interface-id': 'i' })],
  ['70 KB body, empty property value', message(70_000, { x: '' }, { correlationId: 'c' })],
  ['300-byte content type (sym32)', message(5, {}, { contentType: long })],
];

test('encodeEvent writes exactly what rhea.message.encode writes for the same message', () => {
  for (const [what, m] of variants) {
    assert.ok(encodeEvent(m, TO).equals(rhea.message.encode(toAmqpEvent(m, TO))), what);
  }
});

test('a batch (format 0x80013700) is what rhea writes for data sections, and the server side expands it to the same messages in order', () => {
  assert.equal(BATCHED_MESSAGE_FORMAT, 0x80013700);
  assert.equal(SERVER_BATCHED_FORMAT, BATCHED_MESSAGE_FORMAT);
  const encoded = variants.map(([, m]) => encodeEvent(m, TO));
  const batch = encodeBatch(encoded);
  assert.ok(batch.equals(rhea.message.encode({ body: rhea.message.data_sections(encoded) })));
  const expanded = expandBatch(batch).map((amqp) => fromAmqpMessage(amqp));
  assert.equal(expanded.length, variants.length);
  for (let i = 0; i < variants.length; i++) {
    const [what, m] = variants[i]!;
    const got = expanded[i]!;
    assert.deepEqual(Buffer.from(got.body), Buffer.from(m.body), what);
    assert.deepEqual(got.properties, m.properties, what);
    assert.equal(got.systemProperties['to'], TO, what);
    for (const key of ['messageId', 'correlationId', 'contentType', 'contentEncoding', 'outputName', 'dt-subject', 'iothub-interface-id'] as const) {
      assert.equal(got.systemProperties[key], m.systemProperties[key], `${what}: ${key}`);
    }
  }
  // One message is a batch of one.
  assert.equal(expandBatch(encodeBatch([encoded[1]!])).length, 1);
});

test('encodeTransfers: the messages of a send in one batch, each written as rhea writes it', () => {
  const messages = variants.map(([, m]) => m);
  const transfers = encodeTransfers(messages, TO);
  assert.equal(transfers.length, 1);
  const [only] = transfers;
  assert.deepEqual([only!.start, only!.end, only!.format], [0, messages.length, BATCHED_MESSAGE_FORMAT]);
  assert.ok(only!.payload.equals(rhea.message.encode({ body: rhea.message.data_sections(messages.map((m) => rhea.message.encode(toAmqpEvent(m, TO)))) })));
  // One message is a plain transfer (format 0), exactly rhea's encoding.
  const [single] = encodeTransfers([messages[2]!], TO);
  assert.equal(single!.format, 0);
  assert.ok(single!.payload.equals(rhea.message.encode(toAmqpEvent(messages[2]!, TO))));
});

test('encodeTransfers: batches are cut at 256 KB (IoT Hub\'s message limit), in order; a message alone over it still goes (the cloud refuses it)', () => {
  const big = (n: number, bytes: number): Message => message(bytes, { n: String(n) }, { messageId: `m${n}` });
  const messages = [big(0, 100_000), big(1, 100_000), big(2, 100_000), big(3, 100_000), big(4, 100_000), big(5, 300_000), big(6, 10), big(7, 10)];
  const transfers = encodeTransfers(messages, TO);
  assert.deepEqual(transfers.map((t) => [t.start, t.end, t.format]), [[0, 2, BATCHED_MESSAGE_FORMAT], [2, 4, BATCHED_MESSAGE_FORMAT], [4, 5, 0], [5, 6, 0], [6, 8, BATCHED_MESSAGE_FORMAT]]);
  const received: string[] = [];
  for (const t of transfers) {
    if (t.end - t.start > 1) assert.ok(t.payload.length <= MAX_BATCH_BYTES, `batch [${t.start}, ${t.end}) is ${t.payload.length} bytes`);
    const amqps = t.format === 0 ? [rhea.message.decode(t.payload) as unknown as Parameters<typeof fromAmqpMessage>[0]] : expandBatch(t.payload);
    for (const amqp of amqps) {
      const m = fromAmqpMessage(amqp);
      received.push(m.properties['n']!);
      assert.equal(m.body.length, messages[Number(m.properties['n'])]!.body.length);
    }
  }
  assert.deepEqual(received, ['0', '1', '2', '3', '4', '5', '6', '7']);
  // The limit is a parameter: two small messages with room for one go one by one.
  const size = encodeEvent(messages[6]!, TO).length;
  assert.deepEqual(encodeTransfers(messages.slice(6), TO, size + 20).map((t) => [t.start, t.end, t.format]), [[0, 1, 0], [1, 2, 0]]);
});

test('a malformed batch is refused with a clear error', () => {
  assert.throws(() => expandBatch(rhea.message.encode({ body: 'not data sections' })), /data sections/);
  assert.throws(() => expandBatch(Buffer.from([0x00, 0x53, 0x75, 0xa0, 0x02, 0x01])), RangeError);
});
