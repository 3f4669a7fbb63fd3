import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDeploymentManifest } from '../../../domain/deployment/deployment-manifest.js';
import { manifestTrustStatus, readManifestIntegrity, type ManifestIntegrity } from '../../../domain/trust/manifest-integrity.js';

const desired = (integrity?: unknown): Record<string, unknown> => ({
  schemaVersion: '1.1',
  runtime: { type: 'docker', settings: { minDockerVersion: 'v1.25' } },
  systemModules: { edgeAgent: { type: 'docker', settings: { image: 'mcr.microsoft.com/azureiotedge-agent:1.4' } } },
  modules: {},
  version: 'unsigned extra',
  $version: 7,
  ...(integrity === undefined ? {} : { integrity }),
});

const GOOD = { header: { signercert: ['QUJD', 'REVG'], intermediatecacert: ['R0hJ\r', 'SktM'] }, signature: { bytes: 'c2ln', algorithm: 'es256' } };

test('integrity read as Azure does: certificates joined (whitespace dropped), the algorithm in any case, JCS(header) + JCS(the four signed properties)', () => {
  const result = readManifestIntegrity(desired(GOOD));
  assert.equal(result.kind, 'signed');
  if (result.kind !== 'signed') return;
  const integrity = result.integrity;
  assert.equal(integrity.algorithm, 'ES256');
  assert.equal(integrity.scheme, 'ES');
  assert.equal(integrity.hash, 'sha256');
  assert.equal(integrity.signerCertificate, 'QUJDREVG');
  assert.equal(integrity.intermediateCertificate, 'R0hJSktM');
  assert.equal(integrity.signature, 'c2ln');
  assert.equal(
    integrity.signedText,
    '{"intermediatecacert":["R0hJ\\r","SktM"],"signercert":["QUJD","REVG"]}' +
      '{"modules":{},"runtime":{"settings":{"minDockerVersion":"v1.25"},"type":"docker"},"schemaVersion":"1.1","systemModules":{"edgeAgent":{"settings":{"image":"mcr.microsoft.com/azureiotedge-agent:1.4"},"type":"docker"}}}',
    'the header as written (with its \\r), then only modules, runtime, schemaVersion, systemModules',
  );
  const missing = readManifestIntegrity({ schemaVersion: '1.1', integrity: GOOD });
  assert.ok(missing.kind === 'signed' && missing.integrity.signedText.endsWith('{"modules":null,"runtime":null,"schemaVersion":"1.1","systemModules":null}'), 'a missing property is signed as null');
});

test('unsigned (absent, null, {}) and malformed integrity sections', () => {
  for (const absent of [undefined, null, {}]) assert.deepEqual(readManifestIntegrity(desired(absent)), { kind: 'unsigned' });
  const cases: Array<[unknown, RegExp]> = [
    ['x', /integrity must be an object/],
    [{ signature: GOOD.signature }, /integrity\.header must be an object/],
    [{ header: GOOD.header }, /integrity\.signature must be an object/],
    [{ ...GOOD, header: { signercert: 'QUJD' } }, /integrity\.header\.signercert must be an array of base64 strings/],
    [{ ...GOOD, header: { signercert: ['not base64!'] } }, /integrity\.header\.signercert is not base64/],
    [{ ...GOOD, header: { signercert: ['QUJD'], intermediatecacert: [] } }, /intermediatecacert must be an array/],
    [{ ...GOOD, signature: { bytes: 'c2ln', algorithm: 'HS256' } }, /algorithm must be one of ES256, ES384, ES512, RS256, RS384, RS512 \(got "HS256"\)/],
    [{ ...GOOD, signature: { algorithm: 'ES256' } }, /signature\.bytes must be the base64 signature/],
  ];
  for (const [integrity, problem] of cases) {
    const result = readManifestIntegrity(desired(integrity));
    assert.equal(result.kind, 'malformed', JSON.stringify(integrity));
    if (result.kind === 'malformed') assert.match(result.problem, problem);
  }
});

test('the decision: a root configured requires a good signature; a signature without a root is refused; neither applies as before', () => {
  const signed = readManifestIntegrity(desired(GOOD));
  const unsigned = readManifestIntegrity(desired());
  const good = (): undefined => undefined;
  const bad = (_: ManifestIntegrity): string => 'the ES256 signature does not match the signed properties';
  assert.equal(manifestTrustStatus(false, unsigned, bad), undefined);
  assert.equal(manifestTrustStatus(false, undefined, bad), undefined);
  assert.equal(manifestTrustStatus(true, signed, good), undefined);
  assert.deepEqual(manifestTrustStatus(true, unsigned, good), {
    code: 400,
    description: 'Deployment manifest refused: it is not signed, and this device accepts only signed deployments (agent.trust.manifestRootCa is set): sign the $edgeAgent desired properties (an integrity section)',
  });
  assert.deepEqual(manifestTrustStatus(true, signed, bad), { code: 400, description: 'Deployment manifest refused: its signature does not verify: the ES256 signature does not match the signed properties' });
  assert.match(manifestTrustStatus(false, signed, good)?.description ?? '', /it is signed, but no manifest trust root is configured to verify it \(set agent\.trust\.manifestRootCa\)/);
  assert.match(manifestTrustStatus(true, readManifestIntegrity(desired('x')), good)?.description ?? '', /its integrity section is malformed: integrity must be an object/);
});

test('deployment parsing carries the $edgeAgent integrity for the agent', () => {
  const parsed = parseDeploymentManifest({ modulesContent: { $edgeAgent: { 'properties.desired': desired(GOOD) } } });
  assert.equal(parsed.agent.ok, true, 'the integrity section does not disturb the agent parser');
  assert.equal(parsed.agentIntegrity?.kind, 'signed');
  assert.deepEqual(parseDeploymentManifest({ modulesContent: { $edgeAgent: { 'properties.desired': desired() } } }).agentIntegrity, { kind: 'unsigned' });
});
