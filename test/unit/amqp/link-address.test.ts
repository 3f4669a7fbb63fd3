import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkAddressError, identityPath, parseAudience, parseLinkAddress, parseSaslPlainUser } from '../../../adapters/amqp/link-address.js';

test('link addresses: devices and modules, every node, fixed parts case-insensitive, ids exact', () => {
  assert.deepEqual(parseLinkAddress('$cbs'), { kind: 'cbs' });
  assert.deepEqual(parseLinkAddress('/$CBS'), { kind: 'cbs' });
  assert.deepEqual(parseLinkAddress('/devices/dev1/messages/events'), { kind: 'events', identity: { kind: 'device', deviceId: 'dev1' } });
  assert.deepEqual(parseLinkAddress('/devices/Dev1/modules/Mod1/messages/events'), { kind: 'events', identity: { kind: 'module', deviceId: 'Dev1', moduleId: 'Mod1' } });
  assert.deepEqual(parseLinkAddress('/devices/dev1/messages/deviceBound'), { kind: 'devicebound', identity: { kind: 'device', deviceId: 'dev1' } });
  assert.deepEqual(parseLinkAddress('/devices/dev1/messages/devicebound').kind, 'devicebound');
  assert.deepEqual(parseLinkAddress('/devices/dev1/modules/m/twin'), { kind: 'twin', identity: { kind: 'module', deviceId: 'dev1', moduleId: 'm' } });
  assert.deepEqual(parseLinkAddress('/devices/dev1/methods/deviceBound'), { kind: 'methods', identity: { kind: 'device', deviceId: 'dev1' } });
  assert.deepEqual(parseLinkAddress('amqps://hub.example:5671/devices/dev1/twin'), { kind: 'twin', identity: { kind: 'device', deviceId: 'dev1' } });
  assert.deepEqual(parseLinkAddress('devices/d%2Bx/twin'), { kind: 'twin', identity: { kind: 'device', deviceId: 'd+x' } });
  // A device called "modules" still parses as a device.
  assert.deepEqual(parseLinkAddress('/devices/modules/twin'), { kind: 'twin', identity: { kind: 'device', deviceId: 'modules' } });
});

test('link addresses: unknown nodes and bad ids are refused with the rule', () => {
  for (const bad of [undefined, '', '/devices/dev1', '/devices/dev1/messages', '/devices/dev1/inputs/x', '/queues/q1', '/devices/dev1/modules/m/messages/events/extra']) {
    assert.throws(() => parseLinkAddress(bad), LinkAddressError, String(bad));
  }
  assert.throws(() => parseLinkAddress('/devices/bad id/twin'), /deviceId/);
  assert.throws(() => parseLinkAddress('/devices/%E0%A4%A/twin'), /percent-encoding/);
});

test('CBS audience: encoded or not, device or module, host returned', () => {
  assert.deepEqual(parseAudience('myhub.azure-devices.net%2Fdevices%2Fdev1'), { host: 'myhub.azure-devices.net', identity: { kind: 'device', deviceId: 'dev1' } });
  assert.deepEqual(parseAudience('myhub.azure-devices.net/devices/dev1/modules/mod1'), { host: 'myhub.azure-devices.net', identity: { kind: 'module', deviceId: 'dev1', moduleId: 'mod1' } });
  assert.throws(() => parseAudience('myhub.azure-devices.net'), LinkAddressError);
  assert.throws(() => parseAudience('myhub/devices/a/b/c'), LinkAddressError);
});

test('SASL PLAIN user names: <device>[/modules/<module>]@sas.<hub>', () => {
  assert.deepEqual(parseSaslPlainUser('dev1@sas.myhub'), { identity: { kind: 'device', deviceId: 'dev1' }, hub: 'myhub' });
  assert.deepEqual(parseSaslPlainUser('dev1/modules/mod1@sas.myhub'), { identity: { kind: 'module', deviceId: 'dev1', moduleId: 'mod1' }, hub: 'myhub' });
  for (const bad of ['dev1', 'dev1@myhub', 'dev1/mod1@sas.hub', '@sas.hub']) assert.throws(() => parseSaslPlainUser(bad), LinkAddressError, bad);
});

test('identityPath is the inverse of the address prefix', () => {
  assert.equal(identityPath({ kind: 'module', deviceId: 'd+1', moduleId: 'm' }), '/devices/d%2B1/modules/m');
  assert.deepEqual(parseLinkAddress(`${identityPath({ kind: 'module', deviceId: 'd+1', moduleId: 'm' })}/twin`).kind, 'twin');
});
