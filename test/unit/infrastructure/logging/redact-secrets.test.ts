import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { REDACTED, isSecretFieldName, redactSecrets, scrubValue } from '../../../../infrastructure/logging/redact-secrets.js';

describe('redactSecrets', () => {
  const cases: Array<[string, string, string]> = [
    [
      'a whole SAS token',
      'auth with SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fd1&sig=AbC%2B123%3D&se=1700000000&skn=iothubowner now',
      `auth with SharedAccessSignature ${REDACTED} now`,
    ],
    ['a sig parameter', 'GET /x?sr=a&sig=AbC%2B123%3D&se=17', `GET /x?sr=a&sig=${REDACTED}&se=17`],
    ['a URL-encoded sig parameter', 'token=sr%3Da%26sig%3DAbCd%2B%3D%26se%3D1', `token=${REDACTED}`],
    ['an encoded sig inside other text', 'x sr%3Da%26sig%3DAbCd%2B%3D%26se%3D1', `x sr%3Da%26sig%3D${REDACTED}%26se%3D1`],
    [
      'a connection string key',
      'HostName=h.azure-devices.net;DeviceId=d1;SharedAccessKey=c2VjcmV0a2V5MTIzNDU2Nzg5MA==',
      `HostName=h.azure-devices.net;DeviceId=d1;SharedAccessKey=${REDACTED}`,
    ],
    [
      'a connection string with a SAS token',
      'HostName=h;DeviceId=d1;SharedAccessSignature=SharedAccessSignature sr=h&sig=zzz&se=1;GatewayHostName=gw',
      `HostName=h;DeviceId=d1;SharedAccessSignature=SharedAccessSignature ${REDACTED};GatewayHostName=gw`,
    ],
    ['password=', 'connect host=db password=hunter2 user=edge', `connect host=db password=${REDACTED} user=edge`],
    ['password:', 'password: hunter2', `password: ${REDACTED}`],
    ['JSON text', '{"user":"u","password":"hunter2"}', `{"user":"u","password":"${REDACTED}"}`],
    ['a URL password', 'postgres://edge:s3cr%40t@db.local:5432/edge', `postgres://edge:${REDACTED}@db.local:5432/edge`],
    ['an amqp URL password', 'amqps://guest:guest@localhost', `amqps://guest:${REDACTED}@localhost`],
    ['a bearer token', 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc', `Authorization: Bearer ${REDACTED}`],
  ];
  for (const [what, input, expected] of cases) {
    test(`redacts ${what}`, () => {
      assert.equal(redactSecrets(input), expected);
    });
  }

  test('redacts PEM private keys', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----';
    const out = redactSecrets(`key material: ${pem} done`);
    assert.ok(!out.includes('MIGHAgEAMBMG'), out);
    assert.ok(out.endsWith(' done'));
  });

  test('leaves ordinary text alone', () => {
    for (const text of [
      'module tempSensor started',
      'route FROM /messages/* INTO $upstream',
      'key missing in twin patch',
      'https://example.invalid/path?x=1',
      'SharedAccessKeyName=iothubowner',
    ]) {
      assert.equal(redactSecrets(text), text);
    }
  });

  test('is idempotent', () => {
    const once = redactSecrets('password=x SharedAccessKey=y sig=z postgres://a:b@c');
    assert.equal(redactSecrets(once), once);
  });
});

describe('scrubValue', () => {
  test('redacts secret field names at any depth, case- and separator-insensitively', () => {
    const out = scrubValue({ a: [{ b: { c: { d: { e: { Primary_Key: 'K1', name: 'n' } } } } }], SASToken: 'T' }) as Record<string, unknown>;
    assert.equal(JSON.stringify(out), `{"a":[{"b":{"c":{"d":{"e":{"Primary_Key":"${REDACTED}","name":"n"}}}}}],"SASToken":"${REDACTED}"}`);
  });

  test('serializes errors with scrubbed message, stack, fields and cause', () => {
    const cause = new Error('inner password=P1');
    const error = Object.assign(new Error('outer sig=S1', { cause }), { code: 'EAUTH', connectionString: 'HostName=h;SharedAccessKey=K' });
    const text = JSON.stringify(scrubValue({ error }));
    for (const secret of ['P1', 'S1', 'SharedAccessKey=K']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    assert.match(text, /"code":"EAUTH"/);
    assert.match(text, /"type":"Error"/);
  });

  test('handles cycles, buffers and maps', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a['self'] = a;
    const out = JSON.stringify(scrubValue({ a, buf: Buffer.from('secret bytes'), m: new Map([['password', 'x']]) }));
    assert.ok(out.includes('[Circular]'));
    assert.ok(!out.includes('secret bytes'));
    assert.ok(out.includes(`"password":"${REDACTED}"`));
  });

  test('knows the secret field names', () => {
    for (const name of ['key', 'primaryKey', 'secondaryKey', 'sharedAccessKey', 'password', 'sasToken', 'token', 'connectionString', 'authorization']) {
      assert.ok(isSecretFieldName(name), name);
    }
    assert.ok(!isSecretFieldName('deviceId'));
  });
});
