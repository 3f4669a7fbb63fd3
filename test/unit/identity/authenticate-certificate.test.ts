import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { ThumbprintError, matchingThumbprint, normalizeThumbprint } from '../../../domain/identity/x509.js';
import { AuthenticateCertificate, X509AuthOptions } from '../../../application/hub/authenticate-certificate.js';
import { CertificateSessions } from '../../../application/hub/certificate-sessions.js';
import { NodeCertificateVerifier } from '../../../adapters/crypto/node-certificate-verifier.js';
import { InMemoryIdentityStore } from '../../../adapters/identity/in-memory-identity-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { SilentLogger } from '../../support/pipeline-harness.js';
import { derChain, issuedCertificate, selfSignedCertificate, testCa } from '../../support/x509/client-certificates.js';

const DAY = 24 * 60 * 60 * 1000;

test('normalizeThumbprint accepts SHA-1 and SHA-256 hex in the spellings tools print and refuses anything else', () => {
  const sha1 = 'ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01';
  assert.equal(normalizeThumbprint(sha1), 'ABCDEF0123456789ABCDEF0123456789ABCDEF01');
  assert.equal(normalizeThumbprint('a'.repeat(64)), 'A'.repeat(64));
  assert.throws(() => normalizeThumbprint('abc'), ThumbprintError);
  assert.throws(() => normalizeThumbprint('g'.repeat(40)), ThumbprintError);
  const facts = { sha1Thumbprint: 'A'.repeat(40), sha256Thumbprint: 'B'.repeat(64), notBeforeMs: 0, notAfterMs: 1 };
  assert.equal(matchingThumbprint({ type: 'selfSigned', primaryThumbprint: 'C'.repeat(40), secondaryThumbprint: 'B'.repeat(64) }, facts), 'secondary');
  assert.equal(matchingThumbprint({ type: 'selfSigned', primaryThumbprint: 'A'.repeat(40) }, facts), 'primary');
  assert.equal(matchingThumbprint({ type: 'selfSigned' }, facts), undefined);
});

async function setup(trusted: string[] = []) {
  const store = new InMemoryIdentityStore();
  const clock = new FakeClock(Date.now());
  const options = new X509AuthOptions({ trustedCaPems: trusted, revocationCheckMs: 5_000 });
  const auth = new AuthenticateCertificate(store, new NodeCertificateVerifier(), clock, options);
  return { store, clock, auth, options };
}

test('self-signed identities: SHA-1 or SHA-256 primary/secondary thumbprints match; another certificate, an expired or not yet valid one is refused', async () => {
  const { store, auth, clock } = await setup();
  const good = await selfSignedCertificate('thumb-dev');
  const other = await selfSignedCertificate('thumb-dev');
  await store.put(parseIdentity('thumb-dev'), { primaryKey: '', secondaryKey: '', x509: { type: 'selfSigned', primaryThumbprint: 'F'.repeat(40), secondaryThumbprint: good.sha256 } });
  const ok = await auth.execute(parseIdentity('thumb-dev'), derChain(good.certPem));
  assert.equal(ok.ok, true);
  assert.equal(ok.ok && ok.method, 'thumbprint');
  await store.put(parseIdentity('thumb-dev'), { primaryKey: '', secondaryKey: '', x509: { type: 'selfSigned', primaryThumbprint: good.sha1 } });
  assert.equal((await auth.execute(parseIdentity('thumb-dev'), derChain(good.certPem))).ok, true);

  const wrong = await auth.execute(parseIdentity('thumb-dev'), derChain(other.certPem));
  assert.equal(wrong.ok, false);
  assert.equal(!wrong.ok && wrong.reason, 'wrong-certificate');
  assert.match(!wrong.ok ? wrong.detail : '', new RegExp(other.sha256));

  clock.advance(31 * DAY);
  const expired = await auth.execute(parseIdentity('thumb-dev'), derChain(good.certPem));
  assert.equal(!expired.ok && expired.reason, 'expired');
  const future = await selfSignedCertificate('thumb-dev', { notBefore: new Date(clock.now() + DAY), notAfter: new Date(clock.now() + 2 * DAY) });
  await store.put(parseIdentity('thumb-dev'), { primaryKey: '', secondaryKey: '', x509: { type: 'selfSigned', primaryThumbprint: future.sha1 } });
  assert.equal(((r) => !r.ok && r.reason)(await auth.execute(parseIdentity('thumb-dev'), derChain(future.certPem))), 'not-yet-valid');
});

test('CA-signed identities: the chain (with an intermediate) must end at a hub or identity CA and the CN must be the device id', async () => {
  const root = await testCa('Test Root');
  const intermediate = await issuedCertificate('Test Intermediate', root, { ca: true });
  const leaf = await issuedCertificate('ca-dev', intermediate);
  const rogueRoot = await testCa('Test Root'); // same name, other key
  const rogueLeaf = await issuedCertificate('ca-dev', rogueRoot);
  const wrongName = await issuedCertificate('someone-else', root);
  const { store, auth } = await setup([root.subjectPem]);
  await store.put(parseIdentity('ca-dev'), { primaryKey: '', secondaryKey: '', x509: { type: 'certificateAuthority' } });
  assert.equal(derChain(leaf.certPem).length, 2, 'the leaf is sent with its intermediate');
  const ok = await auth.execute(parseIdentity('ca-dev'), derChain(leaf.certPem));
  assert.equal(ok.ok && ok.method, 'ca');
  const rogue = await auth.execute(parseIdentity('ca-dev'), derChain(rogueLeaf.certPem));
  assert.equal(!rogue.ok && rogue.reason, 'untrusted-ca');
  const named = await auth.execute(parseIdentity('ca-dev'), derChain(wrongName.certPem));
  assert.equal(!named.ok && named.reason, 'common-name-mismatch');
  // Without the intermediate the chain is incomplete.
  const bare = await auth.execute(parseIdentity('ca-dev'), derChain(leaf.subjectPem));
  assert.equal(!bare.ok && bare.reason, 'untrusted-ca');

  // A per-identity CA: trusted for that identity only.
  await store.put(parseIdentity('ca-dev'), { primaryKey: '', secondaryKey: '', x509: { type: 'certificateAuthority', trustedCaPems: [rogueRoot.subjectPem] } });
  assert.equal((await auth.execute(parseIdentity('ca-dev'), derChain(rogueLeaf.certPem))).ok, true);
});

test('no certificate, an unknown, disabled or SAS identity are refused with their own reason', async () => {
  const { store, auth } = await setup();
  const cert = await selfSignedCertificate('x');
  await store.put(parseIdentity('sas-dev'), { primaryKey: 'a2V5', secondaryKey: 'a2V5' });
  await store.put(parseIdentity('off'), { primaryKey: '', secondaryKey: '', status: 'disabled', x509: { type: 'selfSigned', primaryThumbprint: cert.sha1 } });
  const reason = async (id: string, chain: Uint8Array[] | undefined) => ((r) => (r.ok ? 'ok' : r.reason))(await auth.execute(parseIdentity(id), chain));
  assert.equal(await reason('off', undefined), 'no-certificate');
  assert.equal(await reason('nobody', derChain(cert.certPem)), 'unknown-identity');
  assert.equal(await reason('off', derChain(cert.certPem)), 'disabled');
  assert.equal(await reason('sas-dev', derChain(cert.certPem)), 'not-x509-identity');
  assert.equal(await reason('off', [new Uint8Array([1, 2, 3])]), 'bad-certificate');
});

test('CertificateSessions closes a live session when its identity is removed or its thumbprint changes, on the clock', async () => {
  const { store, auth, clock, options } = await setup();
  const cert = await selfSignedCertificate('live');
  const id = parseIdentity('live');
  await store.put(id, { primaryKey: '', secondaryKey: '', x509: { type: 'selfSigned', primaryThumbprint: cert.sha256 } });
  const sessions = new CertificateSessions(auth, options, clock, new SilentLogger());
  await sessions.start();
  const closed: string[] = [];
  sessions.track({ identity: id, chain: derChain(cert.certPem), protocol: 'test', close: (reason) => closed.push(reason) });
  await sessions.recheck();
  assert.deepEqual(closed, []);
  await store.put(id, { primaryKey: '', secondaryKey: '', x509: { type: 'selfSigned', primaryThumbprint: 'A'.repeat(64) } });
  clock.advance(5_000);
  await sessions.stop(); // waits for the check the clock started
  assert.equal(closed.length, 1);
  assert.match(closed[0]!, /^wrong-certificate/);
  assert.equal(sessions.size, 0);
});
