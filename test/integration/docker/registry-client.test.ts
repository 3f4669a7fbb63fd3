import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { signatureVerifies } from '../../../adapters/docker/cosign-signatures.js';
import { defaultRegistryScheme, RegistryClient, RegistryError } from '../../../adapters/docker/registry-client.js';
import { signingKeys } from '../../support/docker/cosign-fixtures.js';
import { freePort } from '../../support/free-port.js';

// The registry client against a loopback stand-in for a token-authenticated registry (Docker
// Hub, ACR and most clouds use Bearer tokens; the local docker-registry fixture uses Basic).

const MANIFEST = Buffer.from('{"schemaVersion":2,"layers":[]}');
const MANIFEST_DIGEST = `sha256:${createHash('sha256').update(MANIFEST).digest('hex')}`;
const BLOB = Buffer.from('blob content');
const BLOB_DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;
let server: Server;
let host = '';
const tokenRequests: string[] = [];

function handle(request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', `http://${host}`);
  const auth = request.headers.authorization ?? '';
  if (url.pathname === '/token') {
    tokenRequests.push(url.search);
    const expected = `Basic ${Buffer.from('edge:secret').toString('base64')}`;
    if (auth !== expected) return void response.writeHead(401).end();
    return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'tok-123' }));
  }
  if (auth !== 'Bearer tok-123') {
    return void response.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="stand-in",scope="repository:team/app:pull"` }).end();
  }
  if (url.pathname === '/v2/team/app/manifests/1.0' || url.pathname === `/v2/team/app/manifests/${MANIFEST_DIGEST}`) {
    return void response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(MANIFEST);
  }
  if (url.pathname === `/v2/team/app/manifests/sha256:${'2'.repeat(64)}`) return void response.writeHead(200).end(MANIFEST);
  if (url.pathname === `/v2/team/app/blobs/${BLOB_DIGEST}`) return void response.writeHead(200).end(BLOB);
  if (url.pathname === `/v2/team/app/blobs/sha256:${'0'.repeat(64)}`) return void response.writeHead(200).end('other content');
  response.writeHead(404).end();
}

before(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  host = `127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const credential = (): { address: string; username: string; password: string } => ({ address: host, username: 'edge', password: 'secret' });

test('Bearer challenge: a token from the realm with the credential, reused; manifests by tag and digest checked; blobs checked', { timeout: 10_000 }, async () => {
  const client = new RegistryClient();
  const byTag = await client.manifest(host, 'team/app', '1.0', credential());
  assert.equal(byTag?.digest, MANIFEST_DIGEST);
  assert.equal(byTag?.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.deepEqual(tokenRequests, ['?service=stand-in&scope=repository%3Ateam%2Fapp%3Apull']);
  assert.equal((await client.manifest(host, 'team/app', MANIFEST_DIGEST, credential()))?.digest, MANIFEST_DIGEST);
  assert.equal(tokenRequests.length, 1, 'the token is reused');
  assert.equal(await client.manifest(host, 'team/app', 'absent', credential()), undefined, '404: no such manifest');
  assert.deepEqual(await client.blob(host, 'team/app', BLOB_DIGEST, credential()), BLOB);
  await assert.rejects(client.blob(host, 'team/app', `sha256:${'0'.repeat(64)}`, credential()), /has the digest sha256:[0-9a-f]+: the registry sent other content/);
  await assert.rejects(client.manifest(host, 'team/app', `sha256:${'2'.repeat(64)}`, credential()), /manifest team\/app@sha256:2+ has the digest sha256:[0-9a-f]+: the registry sent other content/);
});

test('a wrong password is a clear error without the password; an unreachable registry says so', { timeout: 10_000 }, async () => {
  const client = new RegistryClient();
  await assert.rejects(client.manifest(host, 'team/app', '1.0', { ...credential(), password: 'wrong-pw' }), (error: unknown) => {
    assert.ok(error instanceof RegistryError);
    assert.match(error.message, /answered 401/);
    assert.doesNotMatch(error.message, /wrong-pw/);
    return true;
  });
  const closed = await freePort(); // nothing listens there
  await assert.rejects(new RegistryClient({ timeoutMs: 2000 }).manifest(`127.0.0.1:${closed}`, 'team/app', '1.0', undefined), /cannot reach 127\.0\.0\.1:\d+: ECONNREFUSED/);
});

test('schemes: loopback registries over HTTP (Docker treats 127.0.0.0/8 as insecure), all others HTTPS; Docker Hub is registry-1.docker.io', () => {
  assert.equal(defaultRegistryScheme('127.0.0.1:5000'), 'http');
  assert.equal(defaultRegistryScheme('localhost:5000'), 'http');
  assert.equal(defaultRegistryScheme('[::1]:5000'), 'http');
  assert.equal(defaultRegistryScheme('myacr.azurecr.io'), 'https');
  assert.equal(defaultRegistryScheme('10.0.0.1:5000'), 'https');
  assert.equal(new RegistryClient().baseUrl('docker.io'), 'https://registry-1.docker.io');
});

test('cosign signatures: DER (cosign) and IEEE P1363 (r||s) ECDSA P-256 verify; another key or payload does not', () => {
  const keys = signingKeys();
  const other = signingKeys();
  const payload = Buffer.from('{"critical":{}}');
  const der = sign('sha256', payload, { key: keys.privateKey, dsaEncoding: 'der' });
  const p1363 = sign('sha256', payload, { key: keys.privateKey, dsaEncoding: 'ieee-p1363' });
  const publicKey = createPublicKey(keys.publicPem);
  assert.equal(signatureVerifies(publicKey, payload, der), true);
  assert.equal(signatureVerifies(publicKey, payload, p1363), true);
  assert.equal(signatureVerifies(createPublicKey(other.publicPem), payload, der), false);
  assert.equal(signatureVerifies(publicKey, Buffer.from('{"critical":{} }'), der), false, 'exact bytes, never re-serialized');
  assert.equal(signatureVerifies(publicKey, payload, Buffer.from('junk')), false);
});
