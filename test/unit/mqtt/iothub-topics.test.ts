import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIdentity, type ModuleIdentity } from '../../../domain/identity/identity.js';
import { authorize } from '../../../domain/identity/authorization.js';
import {
  IotHubTopicError,
  formatC2dTopic,
  formatDesiredPatchTopic,
  formatInputTopic,
  formatMethodRequestTopic,
  formatTelemetryTopicAsSdk,
  formatTwinResponseTopic,
  operationForPublish,
  operationForSubscription,
  parsePublishTopic,
  parseSubscriptionFilter,
} from '../../../adapters/mqtt/iothub-topics.js';

const mod1 = parseIdentity('dev1/mod1') as ModuleIdentity;

test('device telemetry wire topic of iot-sdk-protocol §1.3', () => {
  const parsed = parsePublishTopic('devices/dev1/messages/events/%24.mid=mid-1&%24.cid=cid-1&%24.ct=application%2Fjson&%24.ce=utf-8&alert=high%20temp&%24.sub=sub1');
  assert.deepEqual(parsed, {
    kind: 'telemetry',
    identity: { kind: 'device', deviceId: 'dev1' },
    bag: {
      systemProperties: { messageId: 'mid-1', correlationId: 'cid-1', contentType: 'application/json', contentEncoding: 'utf-8', 'dt-subject': 'sub1' },
      properties: { alert: 'high temp' },
    },
  });
});

test('module output wire topic of iot-sdk-protocol §1.3 (devices/dev1/modules/mod1/messages/events/%24.on=out1/)', () => {
  const parsed = parsePublishTopic('devices/dev1/modules/mod1/messages/events/%24.on=out1/');
  assert.deepEqual(parsed, { kind: 'telemetry', identity: mod1, bag: { systemProperties: { outputName: 'out1' }, properties: {} } });
  assert.deepEqual(operationForPublish(parsed), { kind: 'send-telemetry', target: mod1, outputName: 'out1' });
});

test('telemetry without properties, with and without trailing slash (iotedge-semantics §7.1)', () => {
  for (const topic of ['devices/dev1/messages/events/', 'devices/dev1/messages/events']) {
    assert.deepEqual(parsePublishTopic(topic), { kind: 'telemetry', identity: { kind: 'device', deviceId: 'dev1' }, bag: { systemProperties: {}, properties: {} } });
  }
  assert.equal(parsePublishTopic('devices/dev1/modules/mod1/messages/events').kind, 'telemetry');
});

test('topics built exactly as the SDK builds them parse back', () => {
  const topic = formatTelemetryTopicAsSdk(mod1, [['$.mid', 'm 1'], ['$.ct', 'application/json']], [['k', 'v&w']], 'out/1');
  assert.equal(topic, 'devices/dev1/modules/mod1/messages/events/%24.on=out%2F1&%24.mid=m%201&%24.ct=application%2Fjson&k=v%26w/');
  assert.deepEqual(parsePublishTopic(topic), {
    kind: 'telemetry',
    identity: mod1,
    bag: { systemProperties: { outputName: 'out/1', messageId: 'm 1', contentType: 'application/json' }, properties: { k: 'v&w' } },
  });
});

test('twin topics of iot-sdk-protocol §1.3 / iotedge-semantics §7.1', () => {
  assert.deepEqual(parsePublishTopic('$iothub/twin/GET/?$rid=4b7fae15-52a3-4d8f-b0a8-3b0bd0d2b4d5'), { kind: 'twin-get', requestId: '4b7fae15-52a3-4d8f-b0a8-3b0bd0d2b4d5' });
  assert.deepEqual(parsePublishTopic('$iothub/twin/PATCH/properties/reported/?$rid=7'), { kind: 'twin-patch-reported', requestId: '7' });
  assert.deepEqual(parsePublishTopic('$iothub/twin/PATCH/properties/reported/?$rid=7&$version=12'), { kind: 'twin-patch-reported', requestId: '7', version: 12 });
  assert.deepEqual(parsePublishTopic('$iothub/twin/GET?$rid=1'), { kind: 'twin-get', requestId: '1' });
});

test('method response topic of _mqtt_test.js ($iothub/methods/res/200/?$rid=req1, iot-sdk-protocol §6.2)', () => {
  assert.deepEqual(parsePublishTopic('$iothub/methods/res/200/?$rid=req1'), { kind: 'method-response', status: 200, requestId: 'req1' });
});

test('publish topic errors are typed', () => {
  const cases: Array<[string, string]> = [
    ['devices/dev1/messages/devicebound/', 'unknown-topic'],
    ['$iothub/twin/GET/', 'unknown-topic'],
    ['$iothub/twin/GET/?', 'missing-request-id'],
    ['$iothub/twin/GET/?$rid=', 'missing-request-id'],
    ['$iothub/twin/PATCH/properties/reported/?$rid=1&$version=x', 'bad-version'],
    ['$iothub/methods/res/OK/?$rid=1', 'bad-status'],
    ['$iothub/methods/res/200/?$rid=%', 'bad-query'],
    ['devices/bad id/messages/events/', 'bad-identity'],
    ['devices/dev1/messages/events/a=%ZZ', 'bad-property-bag'],
    ['devices/dev1/messages/events/a/b/c', 'bad-property-bag'],
    ['anything/else', 'unknown-topic'],
  ];
  for (const [topic, code] of cases) {
    assert.throws(() => parsePublishTopic(topic), (e: unknown) => e instanceof IotHubTopicError && e.code === code, topic);
  }
});

test('subscription filters the SDK uses (iot-sdk-protocol §1.3) and edgeHub\'s module form (§7.1)', () => {
  assert.deepEqual(parseSubscriptionFilter('devices/dev1/messages/devicebound/#'), { kind: 'c2d', identity: { kind: 'device', deviceId: 'dev1' } });
  assert.deepEqual(parseSubscriptionFilter('devices/dev1/modules/mod1/inputs/#'), { kind: 'inputs', identity: mod1 });
  assert.deepEqual(parseSubscriptionFilter('devices/dev1/modules/mod1/#'), { kind: 'inputs', identity: mod1 });
  assert.deepEqual(parseSubscriptionFilter('$iothub/methods/POST/#'), { kind: 'methods' });
  assert.deepEqual(parseSubscriptionFilter('$iothub/twin/res/#'), { kind: 'twin-responses' });
  assert.deepEqual(parseSubscriptionFilter('$iothub/twin/PATCH/properties/desired/#'), { kind: 'twin-desired' });
  for (const filter of ['#', 'devices/+/messages/devicebound/#', 'devices/dev1/messages/events/#', '$iothub/#']) {
    assert.throws(() => parseSubscriptionFilter(filter), (e: unknown) => e instanceof IotHubTopicError, filter);
  }
});

test('subscriptions map to authorization questions: a module cannot read another module\'s inputs', () => {
  const other = parseSubscriptionFilter('devices/dev1/modules/mod2/inputs/#');
  assert.deepEqual(authorize(mod1, operationForSubscription(other)), { allowed: false, reason: 'other-identity' });
  assert.deepEqual(authorize(mod1, operationForSubscription(parseSubscriptionFilter('devices/dev1/modules/mod1/inputs/#'))), { allowed: true });
  assert.deepEqual(authorize(mod1, operationForSubscription(parseSubscriptionFilter('devices/dev1/messages/devicebound/#'))), { allowed: false, reason: 'devices-only' });
  assert.deepEqual(authorize(mod1, operationForPublish(parsePublishTopic('devices/dev1/messages/events/'))), { allowed: false, reason: 'other-identity' });
});

/** The SDK's receive-side regexes (iot-sdk-protocol §1.3). */
const SDK_C2D = /^devices\/.*\/messages\/devicebound\/.*$/;
const SDK_INPUT = /^devices\/.*\/modules\/.*\/inputs\/.*\/.*$/;

test('C2D topic keeps the trailing slash the SDK requires, and the bag is split(\'/\')[4]', () => {
  assert.equal(formatC2dTopic('dev1', { systemProperties: {}, properties: {} }), 'devices/dev1/messages/devicebound/');
  const topic = formatC2dTopic('dev1', { systemProperties: { messageId: 'm/1' }, properties: { a: 'b' } });
  assert.equal(topic, 'devices/dev1/messages/devicebound/%24.mid=m%2F1&a=b');
  assert.match(topic, SDK_C2D);
  assert.equal(topic.split('/')[4], '%24.mid=m%2F1&a=b');
});

test('input topic matches edgeHub\'s example (iotedge-semantics §7.1) and the SDK regex; inputName is split(\'/\')[5]', () => {
  const topic = formatInputTopic(parseIdentity('TestEdgeDevice/ReceiverModule') as ModuleIdentity, 'TestInput', {
    systemProperties: { connectionDeviceId: 'TestEdgeDevice', connectionModuleId: 'SenderModule' },
    properties: {},
  });
  assert.equal(topic, 'devices/TestEdgeDevice/modules/ReceiverModule/inputs/TestInput/%24.cdid=TestEdgeDevice&%24.cmid=SenderModule');
  assert.match(topic, SDK_INPUT);
  assert.equal(topic.split('/')[5], 'TestInput');
  assert.equal(formatInputTopic(mod1, 'in1', { systemProperties: {}, properties: {} }), 'devices/dev1/modules/mod1/inputs/in1/');
  assert.throws(() => formatInputTopic(mod1, 'a/b', { systemProperties: {}, properties: {} }), IotHubTopicError);
});

test('twin and method topics the hub publishes (iotedge-semantics §7.1 templates)', () => {
  assert.equal(formatTwinResponseTopic(200, 'rid1'), '$iothub/twin/res/200/?$rid=rid1');
  assert.equal(formatTwinResponseTopic(204, 'rid1', 5), '$iothub/twin/res/204/?$rid=rid1&$version=5');
  assert.equal(formatDesiredPatchTopic(7), '$iothub/twin/PATCH/properties/desired/?$version=7');
  assert.equal(formatMethodRequestTopic('reboot', 'r1'), '$iothub/methods/POST/reboot/?$rid=r1');
  assert.throws(() => formatMethodRequestTopic('reboot', ''), IotHubTopicError);
  assert.throws(() => formatMethodRequestTopic('a?b', 'r'), IotHubTopicError);
  assert.throws(() => formatTwinResponseTopic(42, 'r'), IotHubTopicError);
});

test('property: parsePublishTopic / parseSubscriptionFilter throw only IotHubTopicError', () => {
  const prefixes = fc.constantFrom('', 'devices/dev1/messages/events/', 'devices/dev1/modules/m/messages/events/', '$iothub/twin/GET/?', '$iothub/methods/res/', '$iothub/twin/PATCH/properties/reported/?');
  fc.assert(
    fc.property(prefixes, fc.string({ maxLength: 60 }), (prefix, rest) => {
      for (const run of [() => parsePublishTopic(prefix + rest), () => parseSubscriptionFilter(prefix + rest)]) {
        try {
          run();
        } catch (error) {
          assert.ok(error instanceof IotHubTopicError, String(error));
        }
      }
    }),
    { numRuns: 2000 },
  );
});
