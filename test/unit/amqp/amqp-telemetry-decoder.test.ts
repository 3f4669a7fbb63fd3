import { test } from 'node:test';
import assert from 'node:assert/strict';
import rhea, { type Message as AmqpMessage } from 'rhea';
import { fromAmqpMessage } from '../../../adapters/amqp/amqp-message.js';
import { decodeTelemetry } from '../../../adapters/amqp/amqp-telemetry-decoder.js';

const encode = (m: unknown): Buffer => rhea.message.encode(m as AmqpMessage);
const viaRhea = (bytes: Buffer): unknown => fromAmqpMessage(rhea.message.decode(bytes) as unknown as AmqpMessage);

test('telemetry decoder: the SDK\'s output message is read without rhea, as rhea and fromAmqpMessage read it', () => {
  const bytes = encode({
    message_id: rhea.string_to_uuid('0f8fad5b-d9cb-469f-a165-70867728950e'),
    correlation_id: 'c-1',
    user_id: Buffer.from('u'),
    to: '/devices/d/modules/m/messages/events',
    content_type: 'application/json',
    content_encoding: 'utf-8',
    absolute_expiry_time: new Date('2031-01-01T00:00:00Z'),
    creation_time: new Date('2030-01-02T03:04:05.006Z'),
    message_annotations: { 'dt-subject': 'sub', 'iothub-interface-id': 'urn:x', 'x-other': 7 },
    application_properties: { 'iothub-outputname': 'out1', alert: 'high', count: 3, ok: true, none: null, 9: 'nine' },
    body: rhea.message.data_section(Buffer.from('{"t":1}')),
  });
  const fast = decodeTelemetry(bytes);
  assert.ok(fast !== undefined);
  assert.deepEqual(fast, viaRhea(bytes));
  assert.deepEqual(Object.keys(fast.systemProperties), ['messageId', 'correlationId', 'contentType', 'contentEncoding', 'to', 'userId', 'absolute-expiry-time', 'creationTime', 'dt-subject', 'iothub-interface-id', 'outputName']);
  assert.deepEqual(Object.keys(fast.properties), ['9', 'alert', 'count', 'ok', 'none']);
  assert.equal(Buffer.from(fast.body).toString(), '{"t":1}');
});

test('telemetry decoder: what it does not read is left to rhea (undefined): other bodies, sections, value types, damaged bytes', () => {
  const body = rhea.message.data_section(Buffer.from('x'));
  for (const m of [
    { body: 'amqp-value text' },
    { body: rhea.message.data_sections([Buffer.from('a'), Buffer.from('b')]) },
    {},
    { delivery_annotations: { a: 'b' }, body },
    { footer: { a: 'b' }, body },
    { application_properties: { ratio: 0.5 }, body },
    { application_properties: { list: [1, 2] }, body },
    { message_id: rhea.types.wrap_ulong(5), body },
  ]) {
    assert.equal(decodeTelemetry(encode(m)), undefined, JSON.stringify(m));
  }
  const good = encode({ application_properties: { a: 'b' }, body });
  assert.ok(decodeTelemetry(good) !== undefined);
  assert.equal(decodeTelemetry(good.subarray(0, good.length - 1)), undefined);
  assert.equal(decodeTelemetry(Buffer.from([0x00, 0x53, 0x75, 0xff])), undefined);
});
