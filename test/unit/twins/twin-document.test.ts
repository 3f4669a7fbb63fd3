import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIdentity } from '../../../domain/identity/identity.js';
import type { JsonObject } from '../../../domain/twins/json.js';
import {
  applyDesiredPatch,
  applyReportedPatch,
  emptyTwin,
  replaceDesired,
  twinFromResponseBody,
  twinResponseBody,
} from '../../../domain/twins/twin-document.js';
import { TWIN_LIMITS, TwinValidationError, validateTwinPatch } from '../../../domain/twins/twin-limits.js';
import { buildTwinChangeNotification } from '../../../domain/twins/twin-change-notification.js';

test('GET body has the shape the SDK requires (iot-sdk-protocol §1.5)', () => {
  assert.deepEqual(twinResponseBody(emptyTwin()), { desired: { $version: 1 }, reported: { $version: 1 } });
  const twin = twinFromResponseBody({ desired: { a: 1, $version: 5, $metadata: {} }, reported: { $version: 2 } });
  assert.deepEqual(twin, { desired: { $version: 5, properties: { a: 1 } }, reported: { $version: 2, properties: {} } });
  assert.deepEqual(twinResponseBody(twin), { desired: { a: 1, $version: 5 }, reported: { $version: 2 } });
  assert.throws(() => twinFromResponseBody({ desired: {} }), TwinValidationError);
  assert.throws(() => twinFromResponseBody({ desired: { $version: 'x' }, reported: { $version: 1 } }), TwinValidationError);
});

test('reported patch merges with null deletes and increments $version by one', () => {
  let twin = emptyTwin();
  const first = applyReportedPatch(twin, { temp: 20, fw: { version: '1.0', state: 'ok' } });
  assert.equal(first.version, 2);
  twin = first.twin;
  const second = applyReportedPatch(twin, { temp: null, fw: { state: null, ts: 5 } });
  assert.equal(second.version, 3);
  assert.deepEqual(second.twin.reported, { $version: 3, properties: { fw: { version: '1.0', ts: 5 } } });
  assert.deepEqual(second.twin.desired, twin.desired);
  assert.equal(applyReportedPatch(second.twin, {}).version, 4, 'an empty patch still counts as an update');
});

test('desired patch from IoT Hub takes its $version; stale versions are ignored; local patches increment', () => {
  const twin = emptyTwin();
  const cloud = applyDesiredPatch(twin, { a: 1, $version: 7 });
  assert.ok(cloud.applied);
  assert.equal(cloud.version, 7);
  assert.equal(cloud.gap, true, 'versions 2..6 were never seen');
  assert.deepEqual(cloud.patch, { a: 1, $version: 7 });
  const stale = applyDesiredPatch(cloud.twin, { a: 2, $version: 7 });
  assert.deepEqual(stale, { applied: false, reason: 'stale-version', twin: cloud.twin });
  const local = applyDesiredPatch(cloud.twin, { b: { c: true } });
  assert.ok(local.applied);
  assert.equal(local.version, 8);
  assert.equal(local.gap, false);
  assert.deepEqual(local.twin.desired.properties, { a: 1, b: { c: true } });
  assert.throws(() => applyDesiredPatch(twin, { $version: 'x' }), TwinValidationError);
});

test('replaceDesired returns the catch-up patch', () => {
  const twin = applyDesiredPatch(emptyTwin(), { a: 1, b: 2, $version: 3 });
  assert.ok(twin.applied);
  const replaced = replaceDesired(twin.twin, { $version: 5, properties: { a: 1, c: 3 } });
  assert.deepEqual(replaced.patch, { b: null, c: 3, $version: 5 });
  assert.equal(replaceDesired(replaced.twin, { $version: 5, properties: { a: 1, c: 3 } }).patch, undefined);
});

function nested(depth: number): JsonObject {
  let value: JsonObject = { leaf: 1 };
  for (let i = 1; i < depth; i++) {
    value = { n: value };
  }
  return value;
}

test('limits as edgeHub ReportedPropertiesValidator: depth 10, names, values, integers, arrays, 32 KB', () => {
  assert.doesNotThrow(() => validateTwinPatch(nested(11)));
  const cases: Array<[unknown, string]> = [
    [[], 'not-an-object'],
    ['x', 'not-an-object'],
    [nested(12), 'too-deep'],
    [{ 'a.b': 1 }, 'invalid-name'],
    [{ $version: 1 }, 'invalid-name'],
    [{ 'a#': 1 }, 'invalid-name'],
    [{ 'a b': 1 }, 'invalid-name'],
    [{ 'a\u0085': 1 }, 'invalid-name'],
    [{ '': 1 }, 'invalid-name'],
    [{ ['k'.repeat(1025)]: 1 }, 'name-too-long'],
    [{ s: 'v'.repeat(4097) }, 'value-too-long'],
    [{ s: 'é'.repeat(2049) }, 'value-too-long'],
    [{ i: TWIN_LIMITS.maxSafeInteger + 1 }, 'integer-out-of-range'],
    [{ i: TWIN_LIMITS.minSafeInteger - 1 }, 'integer-out-of-range'],
    [{ arr: [1, null] }, 'null-in-array'],
    [{ arr: [{ x: [null] }] }, 'null-in-array'],
    [Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v'.repeat(900)])), 'too-large'],
  ];
  for (const [patch, code] of cases) {
    assert.throws(() => validateTwinPatch(patch), (e: unknown) => e instanceof TwinValidationError && e.code === code, code);
  }
  assert.doesNotThrow(() => validateTwinPatch({ ok: null, arr: [1, 'a', { b: null }], f: 1.5, s: 'v'.repeat(4096), i: TWIN_LIMITS.maxSafeInteger }));
});

test('reported section may not grow past 32 KB through many small patches', () => {
  let twin = emptyTwin();
  for (let i = 0; i < 8; i++) {
    twin = applyReportedPatch(twin, { [`k${i}`]: 'v'.repeat(4000) }).twin;
  }
  assert.throws(() => applyReportedPatch(twin, { k8: 'v'.repeat(4000) }), (e: unknown) => e instanceof TwinValidationError && e.code === 'too-large');
});

test('twin-change notification for routing (iotedge-semantics §5.2; edgeHub DeviceMessageHandler test)', () => {
  const note = buildTwinChangeNotification({
    edgeDeviceId: 'edgeDeviceId1',
    sender: parseIdentity('device1/module1'),
    reportedPatch: { temp: 21, old: null },
    reportedVersion: 4,
    now: Date.UTC(2026, 10, 26, 8, 0, 0),
  });
  assert.deepEqual(note.body, { version: 4, properties: { reported: { temp: 21, old: null, $version: 4 } } });
  assert.deepEqual(note.systemProperties, {
    messageType: 'twinChangeNotification',
    messageSchema: 'twinChangeNotification',
    connectionDeviceId: 'edgeDeviceId1',
    connectionModuleId: '$edgeHub',
    rpSenderDeviceId: 'device1',
    rpSenderModuleId: 'module1',
    enqueuedTime: '2026-11-26T08:00:00.000Z',
    contentType: 'application/json',
    contentEncoding: 'utf-8',
  });
  const fromDevice = buildTwinChangeNotification({ edgeDeviceId: 'e', sender: parseIdentity('leaf'), reportedPatch: {}, reportedVersion: 2, now: 0 });
  assert.equal(fromDevice.systemProperties['rpSenderModuleId'], undefined);
});

test('property: validating and applying arbitrary JSON throws only TwinValidationError', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 14 }), (value) => {
      try {
        applyReportedPatch(emptyTwin(), value);
      } catch (error) {
        assert.ok(error instanceof TwinValidationError, String(error));
      }
    }),
    { numRuns: 1000 },
  );
});
