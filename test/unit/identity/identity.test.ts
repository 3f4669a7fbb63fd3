import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  IdentityError,
  deviceIdentity,
  formatIdentity,
  isValidDeviceId,
  moduleIdentity,
  parentDevice,
  parseIdentity,
  sameIdentity,
} from '../../../domain/identity/identity.js';

test('parses the MQTT clientId forms "dev1" and "dev1/mod1" (iot-sdk-protocol §1.1)', () => {
  assert.deepEqual(parseIdentity('dev1'), { kind: 'device', deviceId: 'dev1' });
  assert.deepEqual(parseIdentity('dev1/mod1'), { kind: 'module', deviceId: 'dev1', moduleId: 'mod1' });
  assert.deepEqual(parseIdentity('edge1/$edgeHub'), { kind: 'module', deviceId: 'edge1', moduleId: '$edgeHub' });
});

test('formats identities back to their id strings', () => {
  assert.equal(formatIdentity(deviceIdentity('d')), 'd');
  assert.equal(formatIdentity(moduleIdentity('d', 'm')), 'd/m');
});

test('accepts every special character IoT Hub allows in ids', () => {
  for (const id of ["a-b.c+d%e_f#g*h?i!j(k)l,m:n=o@p$q'r", 'x'.repeat(128), 'UPPER', '0']) {
    assert.equal(isValidDeviceId(id), true, id);
    assert.doesNotThrow(() => deviceIdentity(id));
  }
});

test('rejects bad ids with typed errors naming the rule', () => {
  const cases: Array<[() => unknown, string, string]> = [
    [() => deviceIdentity(''), 'empty-id', 'deviceId'],
    [() => deviceIdentity('x'.repeat(129)), 'id-too-long', 'deviceId'],
    [() => deviceIdentity('has space'), 'invalid-id-character', 'deviceId'],
    [() => deviceIdentity('é'), 'invalid-id-character', 'deviceId'],
    [() => moduleIdentity('d', 'm&n'), 'invalid-id-character', 'moduleId'],
    [() => moduleIdentity('d', ''), 'empty-id', 'moduleId'],
    [() => parseIdentity('a/b/c'), 'malformed-identity', 'identity'],
    [() => parseIdentity('/m'), 'empty-id', 'deviceId'],
    [() => parseIdentity('d/'), 'empty-id', 'moduleId'],
  ];
  for (const [run, code, field] of cases) {
    assert.throws(run, (error: unknown) => error instanceof IdentityError && error.code === code && error.field === field);
  }
});

test('identity equality is exact and case-sensitive; parentDevice', () => {
  assert.equal(sameIdentity(parseIdentity('d/m'), parseIdentity('d/m')), true);
  assert.equal(sameIdentity(parseIdentity('d/m'), parseIdentity('d/M')), false);
  assert.equal(sameIdentity(parseIdentity('d'), parseIdentity('d/m')), false);
  assert.deepEqual(parentDevice(parseIdentity('d/m')), { kind: 'device', deviceId: 'd' });
});

test('property: parseIdentity never throws anything but IdentityError and round-trips', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      try {
        assert.equal(formatIdentity(parseIdentity(text)), text);
      } catch (error) {
        assert.ok(error instanceof IdentityError, String(error));
      }
    }),
    { numRuns: 2000 },
  );
});
