import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentSettings } from '../../../application/agent/agent-settings.js';
import { ReconcileDeployment } from '../../../application/agent/reconcile-deployment.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { X509ManifestVerifier } from '../../../adapters/crypto/x509-manifest-verifier.js';
import { FileDeploymentSource } from '../../../adapters/deployment/file-deployment-source.js';
import { InMemoryModuleStateStore } from '../../../adapters/state/in-memory-module-state-store.js';
import { moduleIdentity } from '../../../domain/identity/identity.js';
import { readManifestIntegrity, type ManifestIntegrity } from '../../../domain/trust/manifest-integrity.js';
import { FakeModuleRuntime } from '../../support/agent/fake-module-runtime.js';
import { manifestWith, processModule } from '../../support/agent/memory-deployment-source.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { tempDir, until } from '../../support/agent/process-fixtures.js';
import { RecordingReporter } from '../../support/agent/recording-reporter.js';
import { intermediateCa, rootCa, signerCertificate, signManifest, type Issued } from '../../support/trust/manifest-signer.js';
import { buildUpstreamHub } from '../../support/upstream/upstream-harness.js';

// Azure IoT Edge 1.4 signed deployments: certificates from @peculiar/x509, signatures with
// node:crypto the way Azure's ManifestSignerClient makes them, verified by the real adapter.

const temp = tempDir('manifest-trust');
let root: Issued;
let intermediate: Issued;
let signer: Issued;
let directSigner: Issued;
let otherRoot: Issued;
let strangerSigner: Issued;

before(async () => {
  root = await rootCa();
  intermediate = await intermediateCa(root);
  signer = await signerCertificate(intermediate);
  directSigner = await signerCertificate(root, 'Direct Signer');
  otherRoot = await rootCa('Another Root');
  strangerSigner = await signerCertificate(otherRoot, 'Stranger');
});
after(() => temp.cleanup());

const manifest = (modules: Record<string, unknown>): Record<string, any> => manifestWith(modules) as Record<string, any>; // any: manifests are edited freely

function integrityOf(document: Record<string, any>): ManifestIntegrity { // any: as above
  const result = readManifestIntegrity(document['modulesContent']['$edgeAgent']['properties.desired']);
  assert.equal(result.kind, 'signed');
  return (result as { integrity: ManifestIntegrity }).integrity;
}

test('file source: a signed deployment is applied; unsigned, tampered or foreign-signed ones are 400 with the reason while the previous one keeps running', { timeout: 30_000 }, async () => {
  const path = join(temp.dir, 'deployment.json');
  const clock = new SystemClock();
  const runtime = new FakeModuleRuntime(clock);
  const reporter = new RecordingReporter();
  writeFileSync(path, JSON.stringify(signManifest(manifest({ a: processModule() }), signer, { algorithm: 'ES256', intermediate })));
  const source = new FileDeploymentSource(clock, new MemoryLogger(), { path, pollIntervalMs: 100, debounceMs: 10 });
  const loop = new ReconcileDeployment(source, runtime, new InMemoryModuleStateStore(), clock, new MemoryLogger(), new AgentSettings(), reporter, undefined, undefined, new X509ManifestVerifier(root.pem, clock));
  await loop.start();
  try {
    assert.deepEqual(reporter.status(), { code: 200, description: '' });
    assert.equal(runtime.statusOf('a'), 'running');

    const refusals: Array<[string, Record<string, unknown>, RegExp]> = [
      ['unsigned', manifest({ b: processModule() }), /^Deployment manifest refused: it is not signed, and this device accepts only signed deployments/],
      ['tampered', (() => {
        const signed = signManifest(manifest({ b: processModule() }), signer, { algorithm: 'ES256', intermediate });
        signed['modulesContent']['$edgeAgent']['properties.desired']['modules']['b']['settings']['command'] = '/bin/evil';
        return signed;
      })(), /^Deployment manifest refused: its signature does not verify: the ES256 signature does not match the signed properties/],
      ['foreign', signManifest(manifest({ b: processModule() }), strangerSigner, { algorithm: 'ES256' }), /^Deployment manifest refused: its signature does not verify: the signer certificate CN=Stranger does not chain to the manifest trust root CN=Manifest Root CA/],
      ['malformed', (() => {
        const signed = signManifest(manifest({ b: processModule() }), signer, { algorithm: 'ES256' });
        signed['modulesContent']['$edgeAgent']['properties.desired']['integrity']['signature']['algorithm'] = 'none';
        return signed;
      })(), /^Deployment manifest refused: its integrity section is malformed: integrity\.signature\.algorithm must be one of/],
    ];
    let version = 1;
    for (const [name, document, reason] of refusals) {
      writeFileSync(path, JSON.stringify(document));
      version += 1;
      await until(() => reporter.document['lastDesiredVersion'] === version && reporter.status().code === 400, 10_000, `${name} refused`);
      assert.match(reporter.status().description, reason, name);
      assert.equal(runtime.statusOf('a'), 'running', `${name}: the previous deployment keeps running`);
      assert.equal(runtime.statusOf('b'), undefined, `${name}: nothing of it was applied`);
    }
    assert.ok(!runtime.calls.includes('stop a'));

    // Signed directly by a signer of the root (no intermediate), RSA-free ES256 in DER form: applied.
    writeFileSync(path, JSON.stringify(signManifest(manifest({ a: processModule(), b: processModule() }), directSigner, { algorithm: 'ES256', encoding: 'der' })));
    await until(() => runtime.statusOf('b') === 'running', 10_000, 'the next signed deployment applied');
    assert.deepEqual(reporter.status(), { code: 200, description: '' });
  } finally {
    await loop.stop();
  }
});

test('the verifier: RS256 and ES384 chains, expired signers, a CA that is not one, a certificate that is not one', async () => {
  const clock = new SystemClock();
  const rsaRoot = await rootCa('RSA Root', 'rsa');
  const rsaSigner = await signerCertificate(rsaRoot, 'RSA Signer', 'rsa');
  const rsa = new X509ManifestVerifier(rsaRoot.pem, clock);
  for (const algorithm of ['RS256', 'RS384', 'RS512'] as const) {
    assert.equal(rsa.verify(integrityOf(signManifest(manifest({ a: processModule() }), rsaSigner, { algorithm }))), undefined, algorithm);
  }
  assert.match(rsa.verify(integrityOf(signManifest(manifest({ a: processModule() }), rsaSigner, { algorithm: 'ES256' }))) ?? '', /the algorithm is ES256 but the signer certificate has a rsa key/);

  const p384Root = await rootCa('P-384 Root', 'ec-p384');
  const p384Signer = await signerCertificate(p384Root, 'P-384 Signer', 'ec-p384');
  assert.equal(new X509ManifestVerifier(p384Root.pem, clock).verify(integrityOf(signManifest(manifest({}), p384Signer, { algorithm: 'ES384' }))), undefined);

  const expired = await signerCertificate(root, 'Expired Signer', 'ec-p256', { from: new Date(Date.now() - 10 * 86_400_000), to: new Date(Date.now() - 86_400_000) });
  const verifier = new X509ManifestVerifier(root.pem, clock);
  assert.match(verifier.verify(integrityOf(signManifest(manifest({}), expired, { algorithm: 'ES256' }))) ?? '', /^the certificate CN=Expired Signer is not valid now/);
  // A leaf posing as the intermediate CA.
  assert.match(verifier.verify(integrityOf(signManifest(manifest({}), signer, { algorithm: 'ES256', intermediate: directSigner }))) ?? '', /the intermediate certificate CN=Direct Signer is not a CA/);
  const garbage = { ...integrityOf(signManifest(manifest({}), signer, { algorithm: 'ES256' })), signerCertificate: Buffer.from('not a certificate').toString('base64') };
  assert.equal(verifier.verify(garbage), 'the signer certificate in integrity.header is not an X.509 certificate');
  assert.throws(() => new X509ManifestVerifier(signer.pem, clock), /the manifest trust root CN=Manifest Signer is not a CA certificate/);
});

test('twin source: the $edgeAgent twin signed is applied; an unsigned desired patch is refused and the previous deployment keeps running', { timeout: 20_000 }, async () => {
  const hub = buildUpstreamHub();
  const clock = new SystemClock();
  const runtime = new FakeModuleRuntime(clock);
  const reporter = new RecordingReporter();
  const loop = new ReconcileDeployment(hub.deployment, runtime, new InMemoryModuleStateStore(), clock, new MemoryLogger(), new AgentSettings(), reporter, undefined, undefined, new X509ManifestVerifier(root.pem, clock));
  const agentTwin = moduleIdentity('edge1', '$edgeAgent');
  const desiredOf = (document: Record<string, any>): Record<string, unknown> => document['modulesContent']['$edgeAgent']['properties.desired']; // any: as above
  await hub.twins.updateDesired(agentTwin, desiredOf(signManifest(manifest({ a: processModule() }), signer, { algorithm: 'ES256', intermediate })));
  await loop.start();
  try {
    assert.deepEqual(reporter.status(), { code: 200, description: '' });
    assert.equal(runtime.statusOf('a'), 'running');
    // The cloud replaces the modules and drops the signature.
    await hub.twins.updateDesired(agentTwin, { integrity: null, modules: { a: null, b: processModule() } });
    await until(() => reporter.status().code === 400, 10_000, 'unsigned twin refused');
    assert.match(reporter.status().description, /^Deployment manifest refused: it is not signed/);
    assert.equal(runtime.statusOf('a'), 'running');
    assert.equal(runtime.statusOf('b'), undefined);
  } finally {
    await loop.stop();
  }
});
