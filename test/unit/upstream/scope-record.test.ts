import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scopeRecord } from '../../../adapters/iothub/device-scope-client.js';

test('device scope entries: SAS keys, X.509 thumbprints (normalized) and CA authentication become identity records; anything else is skipped', () => {
  assert.deepEqual(scopeRecord({ deviceId: 'leaf', status: 'enabled', authentication: { type: 'sas', symmetricKey: { primaryKey: 'cA==', secondaryKey: 'cw==' } } })?.credentials, { primaryKey: 'cA==', secondaryKey: 'cw==', status: 'enabled' });
  assert.deepEqual(scopeRecord({ deviceId: 'x', status: 'disabled', authentication: { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: 'ab'.repeat(20), secondaryThumbprint: null } } })?.credentials, {
    primaryKey: '',
    secondaryKey: '',
    status: 'disabled',
    x509: { type: 'selfSigned', primaryThumbprint: 'AB'.repeat(20) },
  });
  assert.deepEqual(scopeRecord({ deviceId: 'c', authentication: { type: 'certificateAuthority' } })?.credentials.x509, { type: 'certificateAuthority' });
  assert.equal(scopeRecord({ deviceId: 'n', authentication: { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: 'not-hex' } } }), undefined);
  assert.equal(scopeRecord({ deviceId: 'n', authentication: { type: 'none' } }), undefined);
});
