import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MqttConnectError, parseMqttConnect } from '../../../adapters/mqtt/connect-claim.js';

const UA = 'azure-iot-device%2F1.18.4%20(node%20v20.20.2%3B%20Debian%2012%3B%20x64)';

test('device CONNECT of iot-sdk-protocol §1.1 [wire]', () => {
  const claim = parseMqttConnect({ clientId: 'dev1', username: `myhub.azure-devices.net/dev1/?api-version=2021-04-12&DeviceClientType=${UA}` });
  assert.deepEqual(claim, {
    identity: { kind: 'device', deviceId: 'dev1' },
    hostName: 'myhub.azure-devices.net',
    apiVersion: '2021-04-12',
    parameters: { 'api-version': '2021-04-12', DeviceClientType: 'azure-iot-device/1.18.4 (node v20.20.2; Debian 12; x64)' },
    deviceClientType: 'azure-iot-device/1.18.4 (node v20.20.2; Debian 12; x64)',
  });
});

test('module CONNECT of iot-sdk-protocol §1.1 [wire], with model-id', () => {
  const claim = parseMqttConnect({ clientId: 'dev1/mod1', username: `myhub.azure-devices.net/dev1/mod1/?api-version=2021-04-12&model-id=dtmi:com:example:Thermostat;1&DeviceClientType=${UA}` });
  assert.deepEqual(claim.identity, { kind: 'module', deviceId: 'dev1', moduleId: 'mod1' });
  assert.equal(claim.modelId, 'dtmi:com:example:Thermostat;1');
});

test('tolerates edgeHub\'s variants: no "?", extra parameters (auth-chain), gateway host', () => {
  const noQ = parseMqttConnect({ clientId: 'dev1', username: 'edge.local/dev1/api-version=2018-06-30&auth-chain=leaf;edge' });
  assert.equal(noQ.hostName, 'edge.local');
  assert.equal(noQ.parameters['auth-chain'], 'leaf;edge');
  const accepted = parseMqttConnect({ clientId: 'e/$edgeHub', username: 'MyHub.azure-devices.net/e/$edgeHub/?api-version=1' }, ['myhub.azure-devices.net', 'edge.local']);
  assert.equal(accepted.identity.kind, 'module');
});

test('rejects bad CONNECTs with typed errors', () => {
  const cases: Array<[{ clientId: string; username?: string }, string, string[]?]> = [
    [{ clientId: 'a/b/c', username: 'h/a/b/c/?api-version=1' }, 'bad-client-id'],
    [{ clientId: '', username: 'h//?api-version=1' }, 'bad-client-id'],
    [{ clientId: 'dev1' }, 'bad-username'],
    [{ clientId: 'dev1', username: 'dev1' }, 'bad-username'],
    [{ clientId: 'dev1', username: 'h/dev2/?api-version=1' }, 'client-id-mismatch'],
    [{ clientId: 'dev1/mod1', username: 'h/dev1/?api-version=1' }, 'client-id-mismatch'],
    [{ clientId: 'dev1', username: 'h/dev1/?DeviceClientType=x' }, 'missing-api-version'],
    [{ clientId: 'dev1', username: 'other/dev1/?api-version=1' }, 'unexpected-host', ['h']],
  ];
  for (const [packet, code, hosts] of cases) {
    assert.throws(() => parseMqttConnect(packet, hosts), (e: unknown) => e instanceof MqttConnectError && e.code === code, JSON.stringify(packet));
  }
});

test('property: arbitrary CONNECT fields throw only MqttConnectError', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), fc.option(fc.string({ maxLength: 80 }), { nil: undefined }), (clientId, username) => {
      try {
        parseMqttConnect({ clientId, username });
      } catch (error) {
        assert.ok(error instanceof MqttConnectError, String(error));
      }
    }),
    { numRuns: 2000 },
  );
});
