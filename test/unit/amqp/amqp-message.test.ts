import { test } from 'node:test';
import assert from 'node:assert/strict';
import rhea, { type Message as AmqpMessage } from 'rhea';
import { bodyBytes, encodeAmqpMessage, fromAmqpMessage, idText, toAmqpMessage, wireId } from '../../../adapters/amqp/amqp-message.js';

test('inbound: SDK fields become the hub\'s system properties; iothub-outputname is the output name', () => {
  const amqp = {
    message_id: rhea.string_to_uuid('0f8fad5b-d9cb-469f-a165-70867728950e'),
    correlation_id: 'cid-1',
    content_type: 'application/json',
    content_encoding: 'utf-8',
    to: '/devices/d/modules/m/messages/events',
    absolute_expiry_time: new Date('2030-01-01T00:00:00Z'),
    message_annotations: { 'dt-subject': 'sub1', 'iothub-connection-device-id': 'forged' },
    application_properties: { 'iothub-outputname': 'out1', alert: 'high', count: 3, __proto__x: 'y' },
    body: rhea.message.data_section(Buffer.from('{"t":1}')),
  } as unknown as AmqpMessage;
  const message = fromAmqpMessage(amqp);
  assert.equal(Buffer.from(message.body).toString(), '{"t":1}');
  assert.deepEqual(message.systemProperties, {
    messageId: '0f8fad5b-d9cb-469f-a165-70867728950e',
    correlationId: 'cid-1',
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    to: '/devices/d/modules/m/messages/events',
    'absolute-expiry-time': '2030-01-01T00:00:00.000Z',
    'dt-subject': 'sub1',
    outputName: 'out1',
  });
  assert.deepEqual(message.properties, { alert: 'high', count: '3', __proto__x: 'y' });
});

test('bodies: data sections (one or several), amqp-value strings and binaries', () => {
  assert.equal(bodyBytes(rhea.message.data_section(Buffer.from('ab'))).toString(), 'ab');
  assert.equal(bodyBytes(rhea.message.data_sections([Buffer.from('a'), Buffer.from('b')])).toString(), 'ab');
  assert.equal(bodyBytes('text').toString(), 'text');
  assert.equal(bodyBytes(Buffer.from('bin')).toString(), 'bin');
  assert.equal(bodyBytes(undefined).length, 0);
  // A round trip through rhea's codec decodes a data section to the same bytes.
  const decoded = rhea.message.decode(rhea.message.encode({ body: rhea.message.data_section(Buffer.from('xyz')) }));
  assert.equal(bodyBytes(decoded.body).toString(), 'xyz');
});

test('outbound: data section, ids, properties, sender identity in annotations; extra annotations added', () => {
  const amqp = toAmqpMessage(
    {
      body: new TextEncoder().encode('hello'),
      properties: { alert: 'x' },
      systemProperties: { messageId: 'm1', correlationId: 'c1', contentType: 'text/plain', connectionDeviceId: 'edge1', connectionModuleId: 'A', outputName: 'out1', 'absolute-expiry-time': '2030-01-01T00:00:00.000Z' },
    },
    { 'x-opt-input-name': 'in1' },
  );
  const decoded = rhea.message.decode(rhea.message.encode(amqp));
  assert.equal((decoded.body as { content: Buffer }).content.toString(), 'hello');
  assert.equal(decoded.message_id, 'm1');
  assert.equal(decoded.correlation_id, 'c1');
  assert.equal(decoded.content_type, 'text/plain');
  assert.deepEqual(decoded.application_properties, { alert: 'x' });
  assert.deepEqual(decoded.message_annotations, { 'x-opt-input-name': 'in1', 'iothub-connection-device-id': 'edge1', 'iothub-connection-module-id': 'A' });
  assert.equal((decoded.absolute_expiry_time as Date).toISOString(), '2030-01-01T00:00:00.000Z');
});

test('ids: uuids go out uuid-typed (as the SDK sends them) and come back as strings', () => {
  const uuid = '11111111-2222-4333-8444-555555555555';
  const wire = wireId(uuid);
  assert.ok(Buffer.isBuffer(wire) && wire.length === 16);
  assert.equal(idText(wire), uuid);
  assert.equal(wireId('not-a-uuid'), 'not-a-uuid');
  assert.equal(idText(42), '42');
  assert.equal(idText(undefined), undefined);
});

test('pre-encoded outbound messages are byte for byte what rhea encodes (small, 255/256-byte, large and empty bodies)', () => {
  const props = JSON.parse('{"alert":"x","__proto__":"p","n":null}') as Record<string, string | null>;
  for (const size of [0, 5, 255, 256, 1024, 70_000]) {
    const message = {
      body: new Uint8Array(Buffer.alloc(size, 0x61)),
      properties: props,
      systemProperties: { messageId: 'm1', correlationId: '0f8fad5b-d9cb-469f-a165-70867728950e', userId: 'u', creationTime: '2029-05-01T00:00:00.000Z', connectionDeviceId: 'edge1', connectionModuleId: 'A' },
    };
    const annotations = { 'x-opt-input-name': 'in1' };
    const expected = rhea.message.encode(toAmqpMessage(message, annotations));
    const encoded = encodeAmqpMessage(message, annotations);
    assert.ok(encoded.equals(expected), `body of ${size} bytes`);
    const decoded = rhea.message.decode(encoded);
    assert.equal(bodyBytes(decoded.body).length, size);
    // (rhea's decoder assigns map keys, so check `__proto__` on the wire.)
    assert.ok(encoded.includes('__proto__') && (decoded.application_properties as Record<string, unknown>)['alert'] === 'x');
    assert.equal(Object.hasOwn(decoded.application_properties as object, 'n'), false);
  }
  // No properties, annotations or ids at all; every property field; long and non-ASCII texts;
  // a non-string annotation (rhea's encoder).
  const same = (message: { body: Uint8Array; properties: Record<string, string | null>; systemProperties: Record<string, string | null> }, annotations?: Record<string, unknown>): void => {
    const encoded = encodeAmqpMessage(message, annotations);
    assert.ok(encoded.equals(rhea.message.encode(toAmqpMessage(message, annotations))), JSON.stringify(message.systemProperties));
  };
  same({ body: new Uint8Array([1, 2, 3]), properties: {}, systemProperties: {} });
  same({ body: new Uint8Array(0), properties: {}, systemProperties: { correlationId: 'c' } });
  same(
    {
      body: new Uint8Array(300),
      properties: { ['k'.repeat(300)]: 'v'.repeat(256), 'ключ': 'значение ✓', empty: '' },
      systemProperties: {
        messageId: 'é'.repeat(200),
        userId: 'user',
        to: '/devices/d/messages/devicebound',
        correlationId: 'x'.repeat(256),
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        'absolute-expiry-time': '2031-02-03T04:05:06.789Z',
        creationTime: '2020-01-01T00:00:00.001Z',
        connectionDeviceId: 'd'.repeat(300),
      },
    },
    { 'x-opt-input-name': 'in', ['s'.repeat(256)]: 'long symbol' },
  );
  same({ body: new Uint8Array(1), properties: {}, systemProperties: { userId: 'üser' } });
  same({ body: new Uint8Array(1), properties: { a: 'b' }, systemProperties: { messageId: 'm' } }, { 'x-opt-sequence-number': 7, 'x-opt-input-name': 'in' });
});
