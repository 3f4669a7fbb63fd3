import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { authorize, describeDenial, type ClientOperation } from '../../../domain/identity/authorization.js';

const device = parseIdentity('dev1');
const module = parseIdentity('dev1/mod1');

test('authorization table (iotedge-semantics §8, iot-sdk-protocol §1.3)', () => {
  const rows: Array<[string, ClientOperation, ReturnType<typeof authorize>]> = [
    ['device telemetry as itself', { kind: 'send-telemetry', target: device }, { allowed: true }],
    ['device telemetry as another device', { kind: 'send-telemetry', target: parseIdentity('dev2') }, { allowed: false, reason: 'other-identity' }],
    ['device telemetry with an output', { kind: 'send-telemetry', target: device, outputName: 'o' }, { allowed: false, reason: 'modules-only' }],
    ['module telemetry as itself', { kind: 'send-telemetry', target: module }, { allowed: true }],
    ['module output as itself', { kind: 'send-telemetry', target: module, outputName: 'out1' }, { allowed: true }],
    ['module telemetry as its device', { kind: 'send-telemetry', target: device }, { allowed: false, reason: 'other-identity' }],
    ['module telemetry as a sibling', { kind: 'send-telemetry', target: parseIdentity('dev1/mod2') }, { allowed: false, reason: 'other-identity' }],
    ['module telemetry with other case', { kind: 'send-telemetry', target: parseIdentity('dev1/MOD1') }, { allowed: false, reason: 'other-identity' }],
    ['module own inputs', { kind: 'receive-inputs', target: module }, { allowed: true }],
    ['module sibling inputs', { kind: 'receive-inputs', target: parseIdentity('dev1/mod2') }, { allowed: false, reason: 'other-identity' }],
    ['device inputs', { kind: 'receive-inputs', target: device }, { allowed: false, reason: 'modules-only' }],
    ['device own C2D', { kind: 'receive-c2d', target: device }, { allowed: true }],
    ['device other C2D', { kind: 'receive-c2d', target: parseIdentity('dev2') }, { allowed: false, reason: 'other-identity' }],
    ['module C2D', { kind: 'receive-c2d', target: module }, { allowed: false, reason: 'devices-only' }],
    ['twin get', { kind: 'twin-get' }, { allowed: true }],
    ['twin reported patch', { kind: 'twin-patch-reported' }, { allowed: true }],
    ['twin desired updates', { kind: 'twin-receive-desired' }, { allowed: true }],
    ['twin responses', { kind: 'twin-receive-responses' }, { allowed: true }],
    ['methods', { kind: 'method-receive' }, { allowed: true }],
    ['method response', { kind: 'method-respond' }, { allowed: true }],
  ];
  for (const [name, operation, expected] of rows) {
    const client = name.startsWith('device') ? device : module;
    assert.deepEqual(authorize(client, operation), expected, name);
  }
});

test('denials have readable descriptions', () => {
  assert.equal(describeDenial(module, { kind: 'receive-c2d', target: module }, 'devices-only'), 'module dev1/mod1 may not receive-c2d: only devices receive cloud-to-device messages');
});
