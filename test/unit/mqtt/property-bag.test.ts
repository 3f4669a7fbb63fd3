import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PropertyBagError, decodePropertyBag, encodePropertyBag } from '../../../adapters/mqtt/property-bag.js';

test('decodes the wire bag of iot-sdk-protocol §1.3 (%24.mid ... &alert=high%20temp&%24.sub=sub1)', () => {
  const bag = decodePropertyBag('%24.mid=mid-1&%24.cid=cid-1&%24.ct=application%2Fjson&%24.ce=utf-8&alert=high%20temp&%24.sub=sub1');
  assert.deepEqual(bag, {
    systemProperties: { messageId: 'mid-1', correlationId: 'cid-1', contentType: 'application/json', contentEncoding: 'utf-8', 'dt-subject': 'sub1' },
    properties: { alert: 'high temp' },
  });
});

test('decodes the output bag with its trailing slash (iot-sdk-protocol §1.3: %24.on=out1/)', () => {
  assert.deepEqual(decodePropertyBag('%24.on=out1/'), { systemProperties: { outputName: 'out1' }, properties: {} });
});

test('decodes every system property wire name of iotedge-semantics §5.6', () => {
  const wire = '$.mid=1&$.cid=2&$.to=3&$.uid=4&$.exp=2030-01-01T00%3A00%3A00.000Z&$.ct=6&$.ce=7&$.on=8&$.cdid=9&$.cmid=10&$.schema=11&$.ctime=12&$.ifid=13&$.sub=14&iothub-operation=15';
  assert.deepEqual(decodePropertyBag(wire).systemProperties, {
    messageId: '1',
    correlationId: '2',
    to: '3',
    userId: '4',
    'absolute-expiry-time': '2030-01-01T00:00:00.000Z',
    contentType: '6',
    contentEncoding: '7',
    outputName: '8',
    connectionDeviceId: '9',
    connectionModuleId: '10',
    messageSchema: '11',
    creationTime: '12',
    'iothub-interface-id': '13',
    'dt-subject': '14',
    operation: '15',
  });
});

test('empty bag, empty pairs, keys without value, __proto__ keys', () => {
  assert.deepEqual(decodePropertyBag(''), { systemProperties: {}, properties: {} });
  assert.deepEqual(decodePropertyBag('/'), { systemProperties: {}, properties: {} });
  assert.deepEqual(decodePropertyBag('a=1&&b'), { systemProperties: {}, properties: { a: '1', b: '' } });
  const bag = decodePropertyBag('__proto__=x&constructor=y');
  assert.equal(Object.getOwnPropertyDescriptor(bag.properties, '__proto__')?.value, 'x');
  assert.equal(bag.properties['constructor'], 'y');
});

test('rejects invalid encodings and raw slashes with PropertyBagError', () => {
  for (const bad of ['a=%E0%A4%A', 'a=%', 'a/b=c', '=x']) {
    assert.throws(() => decodePropertyBag(bad), PropertyBagError, bad);
  }
});

test('encodes for C2D/inputs like edgeHub: %24.cdid=TestEdgeDevice&%24.cmid=SenderModule (iotedge-semantics §7.1)', () => {
  assert.equal(
    encodePropertyBag({ systemProperties: { connectionDeviceId: 'TestEdgeDevice', connectionModuleId: 'SenderModule' }, properties: {} }),
    '%24.cdid=TestEdgeDevice&%24.cmid=SenderModule',
  );
});

test('encoding escapes = & / and spaces so the SDK split/decode recovers them; internal system properties are dropped', () => {
  const text = encodePropertyBag({
    systemProperties: { messageId: 'a=b&c', correlationId: 'x/y', edgeMessageId: 'internal', outputName: 'o' },
    properties: { 'k y': 'v/1=2&3' },
  });
  assert.equal(text, '%24.mid=a%3Db%26c&%24.cid=x%2Fy&k%20y=v%2F1%3D2%263');
});

/** The Node SDK's `_extractPropertiesFromTopicPart`, for checking what a client would see. */
function sdkExtract(part: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of part.split('&')) {
    const [k, v] = kv.split('=');
    out[decodeURIComponent(k as string)] = decodeURIComponent(v as string);
  }
  return out;
}

test('property: what the hub encodes, the SDK parser decodes to the same keys and values', () => {
  const key = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !k.startsWith('$.') && k !== 'iothub-operation' && k !== '__proto__');
  fc.assert(
    fc.property(fc.dictionary(key, fc.string({ maxLength: 20 }), { minKeys: 1, maxKeys: 6 }), fc.string({ maxLength: 20 }), (properties, messageId) => {
      const encoded = encodePropertyBag({ systemProperties: { messageId }, properties });
      assert.deepEqual(sdkExtract(encoded), { '$.mid': messageId, ...properties });
      assert.deepEqual(decodePropertyBag(encoded), { systemProperties: { messageId }, properties: { ...properties } });
    }),
    { numRuns: 500 },
  );
});

test('property: decoding arbitrary text throws only PropertyBagError', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 100 }), (text) => {
      try {
        decodePropertyBag(text);
      } catch (error) {
        assert.ok(error instanceof PropertyBagError, String(error));
      }
    }),
    { numRuns: 2000 },
  );
});
