import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIdentity } from '../../../domain/identity/identity.js';
import {
  SasTokenError,
  checkSasResource,
  encodeUriComponentStrict,
  formatSasToken,
  isSasTokenExpired,
  parseSasResource,
  parseSasToken,
  signingCandidates,
  stringToSign,
  stringToSignFor,
} from '../../../domain/identity/sas-token.js';
import { sdkDeviceToken, sdkHmacHash, sdkSharedAccessSignatureCreate } from '../../support/identity/sdk-sas-token.js';

const HUB = 'myhub.azure-devices.net';
const WIRE_KEY = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');

test('helper reproduces the SDK test vectors (iot-sdk-protocol §4: _authorization_test.js, _shared_access_signature_test.js)', () => {
  assert.equal(sdkHmacHash('cGFzc3dvcmQ=', 'string-to-sign'), 'o1n1hiIVgzVA2+krq9ty1Z4xsIJKJZP3dYT8MOi65Y4=');
  assert.equal(sdkSharedAccessSignatureCreate('uri', null, 'cGFzc3dvcmQ=', 12345), 'SharedAccessSignature sr=uri&sig=kcWxXAK2OAaAoq2oCkaGzX2NMqDB8nCyNuq2fPYCDhk%3D&se=12345');
});

test('helper reproduces the wire token of iot-sdk-protocol §1.1/§4 (sig LOLQ...%3D for dev1, se=1795676760)', () => {
  const token = sdkDeviceToken({ host: HUB, deviceId: 'dev1', key: WIRE_KEY, expiry: 1795676760 });
  assert.equal(token, 'SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdev1&sig=LOLQmPMxT5WYdrEVH99PgT8fNXM%2FaE91bAPecv57%2BhE%3D&se=1795676760');
});

test('parses the wire token of iot-sdk-protocol §1.1', () => {
  const token = parseSasToken('SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdev1&sig=LOLQmPMxT5WYdrEVH99PgT8fNXM%2FaE91bAPecv57%2BhE%3D&se=1795676760');
  assert.equal(token.encodedResource, 'myhub.azure-devices.net%2Fdevices%2Fdev1');
  assert.equal(token.resource, 'myhub.azure-devices.net/devices/dev1');
  assert.equal(token.signature, 'LOLQmPMxT5WYdrEVH99PgT8fNXM/aE91bAPecv57+hE=');
  assert.equal(token.expirySeconds, 1795676760);
  assert.equal(token.keyName, undefined);
  assert.equal(stringToSign(token), 'myhub.azure-devices.net%2Fdevices%2Fdev1\n1795676760');
});

test('string to sign for a module matches the workload API sign request of iot-sdk-protocol §2', () => {
  const expected = Buffer.from('bXlodWIuYXp1cmUtZGV2aWNlcy5uZXQlMkZkZXZpY2VzJTJGZGV2MSUyRm1vZHVsZXMlMkZtb2QxCjE3OTU2NzcwNjk=', 'base64').toString('utf8');
  assert.equal(stringToSignFor(HUB, parseIdentity('dev1/mod1'), 1795677069), expected);
});

test('fields in any order, with skn, and unknown fields ignored', () => {
  const token = parseSasToken('SharedAccessSignature se=10&skn=policy&foo=bar&sig=AAAA&sr=h%2Fdevices%2Fd');
  assert.equal(token.keyName, 'policy');
  assert.equal(token.resource, 'h/devices/d');
  assert.equal(stringToSign(token), 'h%2Fdevices%2Fd\n10');
});

test('strict encoding uses lower-case hex for ! \' ( ) * like the SDK; sr is signed as received', () => {
  assert.equal(encodeUriComponentStrict("h/devices/a*b!(c)'"), 'h%2Fdevices%2Fa%2ab%21%28c%29%27');
  const raw = sdkDeviceToken({ host: 'h', deviceId: 'a*b', key: WIRE_KEY, expiry: 5 });
  const token = parseSasToken(raw);
  assert.equal(token.resource, 'h/devices/a*b');
  assert.equal(stringToSign(token), 'h%2Fdevices%2Fa%2ab\n5');
});

test('formatSasToken emits what the SDK emits', () => {
  const sig = sdkHmacHash(WIRE_KEY, stringToSignFor(HUB, parseIdentity('dev1'), 1795676760));
  assert.equal(
    formatSasToken({ hubHostName: HUB, identity: parseIdentity('dev1'), signatureBase64: sig, expirySeconds: 1795676760 }),
    sdkDeviceToken({ host: HUB, deviceId: 'dev1', key: WIRE_KEY, expiry: 1795676760 }),
  );
});

test('malformed tokens give typed errors that never contain the signature', () => {
  const secret = 'U2VjcmV0U2lnbmF0dXJlVmFsdWU%3D';
  const cases: Array<[string, string]> = [
    ['', 'not-a-sas-token'],
    ['Bearer abc', 'not-a-sas-token'],
    ['SharedAccessSignature', 'not-a-sas-token'],
    [`SharedAccessSignature sr=a&sig=${secret}`, 'missing-field'],
    [`SharedAccessSignature sr=a&sig=${secret}&se=`, 'missing-field'],
    [`SharedAccessSignature sr=a&sig=${secret}&se=1&se=2`, 'duplicate-field'],
    [`SharedAccessSignature sr=a&sig=${secret}&sig=${secret}&se=1`, 'duplicate-field'],
    [`SharedAccessSignature sr=a&sig=${secret}&se=soon`, 'bad-expiry'],
    [`SharedAccessSignature sr=a&sig=${secret}&se=1.5`, 'bad-expiry'],
    [`SharedAccessSignature sr=%E0%A4%A&sig=${secret}&se=1`, 'bad-encoding'],
    [`SharedAccessSignature sr=a&sig=not*base64${secret}&se=1`, 'bad-signature-format'],
    [`SharedAccessSignature sr=a&${secret}&se=1`, 'malformed-field'],
    [`SharedAccessSignature sr=a&sig=${'A'.repeat(5000)}&se=1`, 'token-too-long'],
  ];
  for (const [text, code] of cases) {
    assert.throws(
      () => parseSasToken(text),
      (error: unknown) => error instanceof SasTokenError && error.code === code && !error.message.includes('U2VjcmV0') && !error.message.includes('AAAA'),
      `${code}: ${text.slice(0, 60)}`,
    );
  }
});

test('property: random strings and mutated tokens only ever throw SasTokenError', () => {
  const valid = sdkDeviceToken({ host: HUB, deviceId: 'dev1', moduleId: 'mod1', key: WIRE_KEY, expiry: 1795676760 });
  const mutated = fc
    .tuple(fc.nat(valid.length), fc.nat(valid.length), fc.string({ maxLength: 8 }))
    .map(([start, len, insert]) => valid.slice(0, start) + insert + valid.slice(Math.min(valid.length, start + len)));
  const anyText = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), mutated, fc.string().map((s) => `SharedAccessSignature ${s}`));
  fc.assert(
    fc.property(anyText, (text) => {
      try {
        parseSasToken(text);
      } catch (error) {
        assert.ok(error instanceof SasTokenError, String(error));
      }
    }),
    { numRuns: 3000 },
  );
});

test('sr must name an accepted host (case-insensitive) and the claimed identity (exact ids, edgeHub ValidateAudience)', () => {
  const policy = { acceptedHostNames: [HUB, 'edge.local'] };
  const tok = (sr: string) => parseSasToken(`SharedAccessSignature sr=${encodeUriComponentStrict(sr)}&sig=AAAA&se=1`);
  assert.deepEqual(checkSasResource(tok(`${HUB}/devices/dev1`), parseIdentity('dev1'), policy), { ok: true });
  assert.deepEqual(checkSasResource(tok('MYHUB.azure-devices.net/devices/dev1'), parseIdentity('dev1'), policy), { ok: true });
  assert.deepEqual(checkSasResource(tok('edge.local/devices/dev1'), parseIdentity('dev1'), policy), { ok: true });
  assert.deepEqual(checkSasResource(tok('otherhub.azure-devices.net/devices/dev1'), parseIdentity('dev1'), policy), { ok: false, reason: 'wrong-host' });
  assert.deepEqual(checkSasResource(tok(`${HUB}/devices/dev2`), parseIdentity('dev1'), policy), { ok: false, reason: 'wrong-identity' });
  assert.deepEqual(checkSasResource(tok(`${HUB}/devices/DEV1`), parseIdentity('dev1'), policy), { ok: false, reason: 'wrong-identity' });
  assert.deepEqual(checkSasResource(tok(`${HUB}/devices/dev1/modules/mod1`), parseIdentity('dev1/mod1'), policy), { ok: true });
  assert.deepEqual(checkSasResource(tok(`${HUB}/devices/dev1/modules/MOD1`), parseIdentity('dev1/mod1'), policy), { ok: false, reason: 'wrong-identity' });
  // A module token never authenticates the device or a sibling.
  assert.deepEqual(checkSasResource(tok(`${HUB}/devices/dev1/modules/mod1`), parseIdentity('dev1'), policy), { ok: false, reason: 'wrong-identity' });
  assert.deepEqual(checkSasResource(tok(`${HUB}/devices/dev1/modules/mod1`), parseIdentity('dev1/mod2'), policy), { ok: false, reason: 'wrong-identity' });
  // A device-scoped sr is acceptable for a module of that device (which keys signed it is checked later).
  assert.deepEqual(checkSasResource(tok(`${HUB}/devices/dev1`), parseIdentity('dev1/mod1'), policy), { ok: true });
  assert.deepEqual(checkSasResource(tok(`${HUB}/devices/dev2`), parseIdentity('dev1/mod1'), policy), { ok: false, reason: 'wrong-identity' });
  for (const sr of [`${HUB}`, `${HUB}/devices`, `${HUB}/devices/`, `${HUB}/modules/dev1`, `${HUB}/devices/dev1/x/y`, `${HUB}/devices/dev1/modules/`, `${HUB}/devices/dev1/`]) {
    assert.deepEqual(checkSasResource(tok(sr), parseIdentity('dev1'), policy), { ok: false, reason: 'not-an-identity-resource' }, sr);
  }
});

test('signing candidates: the identity, then for modules its device (edgeHub allowDeviceAuthForModule)', () => {
  assert.deepEqual(signingCandidates(parseIdentity('d'), true), [parseIdentity('d')]);
  assert.deepEqual(signingCandidates(parseIdentity('d/m'), true), [parseIdentity('d/m'), parseIdentity('d')]);
  assert.deepEqual(signingCandidates(parseIdentity('d/m'), false), [parseIdentity('d/m')]);
});

test('parseSasResource', () => {
  assert.deepEqual(parseSasResource('h/devices/d/modules/$edgeHub'), { hostName: 'h', identity: { kind: 'module', deviceId: 'd', moduleId: '$edgeHub' } });
  assert.equal(parseSasResource('h/devices/d/modules'), undefined);
});

test('expiry is compared with the injected now (seconds vs milliseconds)', () => {
  const token = parseSasToken('SharedAccessSignature sr=a&sig=AAAA&se=100');
  assert.equal(isSasTokenExpired(token, 99_999), false);
  assert.equal(isSasTokenExpired(token, 100_000), true);
  assert.equal(isSasTokenExpired(token, 104_000, 5), false);
});
