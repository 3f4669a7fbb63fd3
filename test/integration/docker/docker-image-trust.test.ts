import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { AgentSettings } from '../../../application/agent/agent-settings.js';
import { ReconcileDeployment } from '../../../application/agent/reconcile-deployment.js';
import { DockerModuleRuntime } from '../../../adapters/docker/docker-module-runtime.js';
import { LABELS } from '../../../adapters/docker/docker-labels.js';
import { InMemoryModuleStateStore } from '../../../adapters/state/in-memory-module-state-store.js';
import { OPEN_IMAGE_POLICY, type ImageTrustPolicy } from '../../../domain/trust/image-policy.js';
import { MemoryDeploymentSource, manifestWith } from '../../support/agent/memory-deployment-source.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { RecordingReporter } from '../../support/agent/recording-reporter.js';
import { copySignature, pushImage, pushSignature, pushSignatureManifest, signaturePayload, signingKeys } from '../../support/docker/cosign-fixtures.js';
import { TEST_LABEL, buildBusyboxImage, cleanupDocker, dockerClient, dockerModule, newRunId } from '../../support/docker/docker-fixtures.js';
import { registryToolsPresent, startLocalRegistry, type LocalRegistry } from '../../support/docker/local-registry.js';
import { OffsetClock } from '../../support/docker/offset-clock.js';
import { skipUnless } from '../../support/services.js';

// Image verification against the real engine and a password-protected registry: the test signs
// with node:crypto and pushes cosign's signature artifact itself (OCI manifest + blobs, v2 API).

let skip = await skipUnless('docker');
if (skip === false && !registryToolsPresent()) {
  if (process.env['EDGEPORT_REQUIRE_SERVICES']) throw new Error('docker-registry and htpasswd are required (EDGEPORT_REQUIRE_SERVICES is set): apt-get install docker-registry apache2-utils');
  skip = 'docker-registry or htpasswd not installed';
}
const runId = newRunId();
const docker = dockerClient();
const REPO = 'edgeport-test/app';
const localA = `edgeport-test/trust-a:${runId}`;
const localB = `edgeport-test/trust-b:${runId}`;
const trusted = signingKeys();
const stranger = signingKeys();
let registry: LocalRegistry;
/** Digests of the two images in the registry (A signed by the trusted key, B unsigned). */
let digestA = '';
let digestB = '';
const pulledTags: string[] = [];

function remote(tag: string): string {
  const image = `${registry.address}/${REPO}:${tag}`;
  pulledTags.push(image);
  return image;
}

before(async () => {
  if (skip !== false) return;
  registry = await startLocalRegistry();
  await buildBusyboxImage(docker, localA, runId);
  // A second import: another creation time, so another config and manifest digest.
  await new Promise((r) => setTimeout(r, 1100));
  await buildBusyboxImage(docker, localB, runId);
  digestA = await pushImage(docker, localA, registry, REPO, 'signed');
  digestB = await pushImage(docker, localB, registry, REPO, 'unsigned');
  assert.notEqual(digestA, digestB, 'two different images');
  await pushSignature(registry, REPO, digestA, trusted.privateKey);
});

after(async () => {
  if (skip === false) await cleanupDocker(docker, runId, [...new Set(pulledTags), localA, localB]);
  await registry?.stop();
});

interface Deployed {
  runtime: DockerModuleRuntime;
  loop: ReconcileDeployment;
  reporter: RecordingReporter;
  source: MemoryDeploymentSource;
  logger: MemoryLogger;
}

async function deploy(policy: Partial<ImageTrustPolicy>, modules: Record<string, unknown>, keys = [{ name: 'release.pub', key: createPublicKey(trusted.publicPem) }]): Promise<Deployed> {
  const clock = new OffsetClock();
  const logger = new MemoryLogger();
  const runtime = new DockerModuleRuntime(clock, logger, {
    labels: { [TEST_LABEL]: runId },
    namePrefix: `ep-${runId}-`,
    defaultNetworkMode: 'none',
    stopTimeoutMs: 1000,
    trust: { policy: { ...OPEN_IMAGE_POLICY, ...policy }, keys },
  });
  const source = new MemoryDeploymentSource();
  const reporter = new RecordingReporter();
  const loop = new ReconcileDeployment(source, runtime, new InMemoryModuleStateStore(), clock, logger, new AgentSettings({ stopTimeoutMs: 1000 }), reporter);
  source.set(manifestWith(modules, { runtime: { type: 'docker', settings: { registryCredentials: { local: { address: registry.address, username: registry.username, password: registry.password } } } } }));
  await loop.start();
  return { runtime, loop, reporter, source, logger };
}

async function done(deployed: Deployed): Promise<void> {
  await deployed.loop.stop();
  await deployed.runtime.close();
}

const IDLE = 'trap "exit 0" TERM; while true; do sleep 0.1; done';
const module = (image: string, overrides: Record<string, unknown> = {}): Record<string, unknown> => dockerModule(image, IDLE, { imagePullPolicy: 'on-create', restartPolicy: 'always', ...overrides });

async function containerOf(name: string): Promise<import('dockerode').ContainerInspectInfo | undefined> {
  try {
    return await docker.getContainer(`ep-${runId}-${name}`).inspect();
  } catch {
    return undefined;
  }
}

/** The module was refused: reported failed with the reason, 500 naming it, and no container was ever created. */
async function assertRefused(deployed: Deployed, name: string, reason: RegExp): Promise<void> {
  const entry = deployed.reporter.module(name);
  assert.equal(entry?.['runtimeStatus'], 'failed', JSON.stringify(entry));
  assert.match(String(entry?.['statusDescription']), reason);
  assert.equal(deployed.reporter.status().code, 500);
  assert.match(deployed.reporter.status().description, new RegExp(`prepare ${name}: image .* refused`));
  assert.equal(await containerOf(name), undefined, 'never created, so never started');
}

test('signed by a configured key: verified, created from the verified digest, running', { skip, timeout: 60_000 }, async () => {
  const deployed = await deploy({ requireSignature: true }, { signed: module(remote('signed')) });
  try {
    assert.deepEqual(deployed.reporter.status(), { code: 200, description: '' });
    assert.equal(deployed.reporter.module('signed')?.['runtimeStatus'], 'running');
    const info = await containerOf('signed');
    assert.equal(info?.Config.Image, `${registry.address}/${REPO}@${digestA}`, 'the container runs the digest that was verified, not the tag');
    assert.equal(info?.Config.Labels[LABELS.imageDigest], digestA);
    assert.ok(deployed.logger.entries.some((e) => e.message.includes(`verified: signed with key release.pub`)));
  } finally {
    await done(deployed);
  }
});

test('refused, never started: unsigned (no signature), signed by another key (untrusted key), a signature for another digest (bad signature)', { skip, timeout: 90_000 }, async () => {
  // The unsigned image; the signed one checked against a stranger's key only.
  const unsigned = await deploy({ requireSignature: true }, { plain: module(remote('unsigned')) });
  try {
    await assertRefused(unsigned, 'plain', /^image .*:unsigned refused \(no signature\): the registry has no signature for sha256:/);
  } finally {
    await done(unsigned);
  }
  const wrongKey = await deploy({ requireSignature: true }, { other: module(remote('signed')) }, [{ name: 'stranger.pub', key: createPublicKey(stranger.publicPem) }]);
  try {
    await assertRefused(wrongKey, 'other', /refused \(untrusted key\): its signature for sha256:[0-9a-f]{64} verify with none of the keys/);
  } finally {
    await done(wrongKey);
  }
  // The tag re-pushed with another image (tampered), and the old signature copied next to it.
  const tag = `tampered-${runId}`;
  await pushImage(docker, localA, registry, REPO, tag);
  await pushImage(docker, localB, registry, REPO, tag);
  await copySignature(registry, REPO, digestA, digestB);
  const tampered = await deploy({ requireSignature: true }, { tampered: module(remote(tag)) });
  try {
    await assertRefused(tampered, 'tampered', new RegExp(`refused \\(bad signature\\): the signature is for ${digestA}, not ${digestB}`));
  } finally {
    await done(tampered);
  }
});

test('digest pins: a tag re-pushed under a pinned digest is refused (digest mismatch); name@sha256 of the registry runs; requireDigest and allowedRegistries refuse before pulling', { skip, timeout: 90_000 }, async () => {
  const tag = `pinned-${runId}`;
  await pushImage(docker, localB, registry, REPO, tag);
  // No policy at all: a pin is always honoured.
  const mismatch = await deploy({}, { pinned: module(remote(tag), { settings: { image: remote(tag), digest: digestA, createOptions: JSON.stringify({ Cmd: ['sh', '-c', IDLE], HostConfig: { NetworkMode: 'none' } }) } }) });
  try {
    await assertRefused(mismatch, 'pinned', new RegExp(`refused \\(digest mismatch\\): the registry gave ${digestB} but the deployment pins ${digestA}`));
  } finally {
    await done(mismatch);
  }
  const byDigest = await deploy({ requireDigest: true, allowedRegistries: [registry.address] }, { exact: module(remote(`x@${digestA}`).replace(':x@', '@')) });
  try {
    assert.deepEqual(byDigest.reporter.status(), { code: 200, description: '' });
    assert.equal(byDigest.reporter.module('exact')?.['runtimeStatus'], 'running');
  } finally {
    await done(byDigest);
  }
  const policies = await deploy({ requireDigest: true, allowedRegistries: ['myacr.azurecr.io'] }, { loose: module(remote('signed')) });
  try {
    assert.match(String(policies.reporter.module('loose')?.['statusDescription']), /refused \(registry not allowed\): registry 127\.0\.0\.1:\d+ is not in agent\.trust\.allowedRegistries/);
    assert.equal(await containerOf('loose'), undefined);
  } finally {
    await done(policies);
  }
  const unpinned = await deploy({ requireDigest: true }, { loose: module(remote('signed')) });
  try {
    await assertRefused(unpinned, 'loose', /refused \(digest required\): agent\.trust\.requireDigest is set/);
  } finally {
    await done(unpinned);
  }
});

test('refuseMovedTags: the tag moved to another digest; the update is refused and the module that runs keeps running', { skip, timeout: 90_000 }, async () => {
  const tag = `moving-${runId}`;
  await pushImage(docker, localA, registry, REPO, tag);
  const deployed = await deploy({ refuseMovedTags: true }, { app: module(remote(tag)) });
  try {
    assert.equal(deployed.reporter.module('app')?.['runtimeStatus'], 'running');
    const before = (await containerOf('app'))?.Id;
    await pushImage(docker, localB, registry, REPO, tag);
    deployed.source.set(manifestWith({ app: module(remote(tag), { version: '2.0' }) }, { runtime: { type: 'docker', settings: { registryCredentials: { local: { address: registry.address, username: registry.username, password: registry.password } } } } }));
    await deployed.loop.whenIdle();
    assert.match(deployed.reporter.status().description, new RegExp(`prepare app: image .* refused \\(tag moved\\): the tag now resolves to ${digestB}, not ${digestA}`));
    const after = await containerOf('app');
    assert.equal(after?.Id, before, 'the old container was not touched');
    assert.equal(after?.State.Running, true);
    assert.equal(deployed.reporter.module('app')?.['version'], '1.0');
  } finally {
    await done(deployed);
  }
});

test('a signature artifact without the annotation, or with a payload that is not simple signing, is a bad signature', { skip, timeout: 60_000 }, async () => {
  const tag = `odd-${runId}`;
  const digest = await pushImage(docker, localA, registry, REPO, tag);
  assert.equal(digest, digestA, 'the same image pushed again has the same digest');
  // Overwrite the signature of A: one layer lacks the annotation, one signs a payload of another type.
  const odd = Buffer.from(JSON.stringify({ critical: { type: 'something else', image: { 'docker-manifest-digest': digestA } } }));
  await pushSignatureManifest(registry, REPO, digestA, [
    { payload: signaturePayload('x', digestA), annotations: {} },
    { payload: odd, annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ==' } },
  ]);
  const deployed = await deploy({ requireSignature: true }, { odd: module(remote(tag)) });
  try {
    await assertRefused(deployed, 'odd', /refused \(bad signature\): a signature layer of sha256-[0-9a-f]{64}\.sig has no dev\.cosignproject\.cosign\/signature annotation; the signed payload's critical\.type is not "cosign container image signature"/);
  } finally {
    await done(deployed);
    // Restore A's signature for any later test.
    await pushSignature(registry, REPO, digestA, trusted.privateKey);
  }
});
