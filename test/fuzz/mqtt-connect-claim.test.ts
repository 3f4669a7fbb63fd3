import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIdentity } from '../../domain/identity/identity.js';
import { MqttConnectError, parseMqttConnect } from '../../adapters/mqtt/connect-claim.js';
import { identity, wildString } from './arbitraries.js';
import { fuzzFixtures, fuzzParameters } from './fuzz-fixtures.js';

// Fuzz target: CONNECT claim parsing (adapters/mqtt/connect-claim.ts): any client id and user
// name are parsed or refused with MqttConnectError (CONNACK 5), and what the SDK sends for any
// identity IoT Hub accepts parses back to that identity.

const TARGET = 'mqtt-connect-claim';
const HOST = 'myhub.azure-devices.net';

/** The SDK's user name (iot-sdk-protocol.md §1.1): host, client id as is, then the encoded parameters. */
function sdkUsername(clientId: string, modelId?: string): string {
  const ua = encodeURIComponent('azure-iot-device/1.18.4 (node v20.20.2; Debian 12; x64)');
  return `${HOST}/${clientId}/?api-version=2021-04-12${modelId === undefined ? '' : `&model-id=${modelId}`}&DeviceClientType=${ua}`;
}

function parseOrRefuse(clientId: string, username: string | undefined): void {
  try {
    parseMqttConnect({ clientId, username }, [HOST]);
  } catch (error) {
    if (!(error instanceof MqttConnectError)) throw error;
  }
}

test('fuzz mqtt-connect-claim: replayed fixtures', () => {
  for (const { name, input } of fuzzFixtures<{ clientId: string; username: string; identity?: string }>(TARGET)) {
    if (input.identity === undefined) parseOrRefuse(input.clientId, input.username);
    else assert.equal(formatIdentity(parseMqttConnect({ clientId: input.clientId, username: input.username }, [HOST]).identity), input.identity, name);
  }
});

test('fuzz mqtt-connect-claim: any client id and user name are parsed or refused with MqttConnectError', () => {
  const structured = fc.tuple(wildString(30), wildString(30), wildString(60)).map(([a, b, q]) => ({ clientId: a, username: `${HOST}/${a}/${b}?${q}` }));
  const loose = fc.record({ clientId: wildString(60), username: fc.option(wildString(200), { nil: undefined }) });
  fc.assert(fc.property(fc.oneof(structured, loose), ({ clientId, username }) => parseOrRefuse(clientId, username)), fuzzParameters(20_000, 1 / 2));
});

test('fuzz mqtt-connect-claim: the CONNECT the SDK sends for any IoT Hub identity parses back to it', () => {
  fc.assert(
    fc.property(identity, fc.option(fc.constantFrom('dtmi:com:example:Thermostat;1', 'dtmi:a:b;2'), { nil: undefined }), (who, modelId) => {
      const clientId = formatIdentity(who);
      const claim = parseMqttConnect({ clientId, username: sdkUsername(clientId, modelId) }, [HOST]);
      assert.equal(formatIdentity(claim.identity), clientId);
      assert.equal(claim.apiVersion, '2021-04-12');
      assert.equal(claim.modelId, modelId);
    }),
    fuzzParameters(10_000, 1 / 2),
  );
});
