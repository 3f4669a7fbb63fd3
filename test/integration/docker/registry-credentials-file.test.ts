import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentSettings } from '../../../application/agent/agent-settings.js';
import { ReconcileDeployment } from '../../../application/agent/reconcile-deployment.js';
import { DockerModuleRuntime } from '../../../adapters/docker/docker-module-runtime.js';
import { InMemoryModuleStateStore } from '../../../adapters/state/in-memory-module-state-store.js';
import { readRegistryCredentialsFile, writeRegistryCredentialsFile } from '../../../infrastructure/config/registry-credentials-file.js';
import { MemoryDeploymentSource, manifestWith } from '../../support/agent/memory-deployment-source.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { RecordingReporter } from '../../support/agent/recording-reporter.js';
import { TEST_LABEL, dockerModule, newRunId } from '../../support/docker/docker-fixtures.js';
import { registryWithImage, skipUnlessRegistry } from '../../support/docker/local-registry.js';
import { OffsetClock } from '../../support/docker/offset-clock.js';

const skip = await skipUnlessRegistry();
const runId = newRunId();
const fixture = registryWithImage(skip, runId);
const dir = mkdtempSync(join(tmpdir(), 'edgeport-registry-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('agent.registryCredentialsFile: the agent pulls with the file\'s credential when the manifest has none; the manifest\'s credential for the registry wins', { skip, timeout: 90_000 }, async () => {
  const reg = fixture.registry();
  const remoteImage = fixture.image();
  const file = join(dir, 'registry-credentials.json');
  writeRegistryCredentialsFile(file, { local: { address: reg.address, username: reg.username, password: reg.password } });
  assert.equal(statSync(file).mode & 0o777, 0o600);

  const clock = new OffsetClock();
  const logger = new MemoryLogger();
  const runtime = new DockerModuleRuntime(clock, logger, {
    labels: { [TEST_LABEL]: runId },
    namePrefix: `ep-${runId}-`,
    defaultNetworkMode: 'none',
    stopTimeoutMs: 1000,
    registryCredentials: readRegistryCredentialsFile(file),
  });
  const source = new MemoryDeploymentSource();
  const reporter = new RecordingReporter();
  const loop = new ReconcileDeployment(source, runtime, new InMemoryModuleStateStore(), clock, logger, new AgentSettings({ stopTimeoutMs: 1000 }), reporter);
  try {
    // The deployment's own (wrong) credential for this registry is used, not the file's: the pull fails.
    const module = dockerModule(remoteImage, 'trap "exit 0" TERM; while true; do sleep 0.1; done', { imagePullPolicy: 'on-create' });
    const wrong = { local: { address: reg.address, username: reg.username, password: 'not-the-password' } };
    source.set(manifestWith({ private: module }, { runtime: { type: 'docker', settings: { registryCredentials: wrong } } }));
    await loop.start();
    assert.equal(reporter.status().code, 500);
    assert.match(reporter.status().description, /cannot pull image .* with the credential of 127\.0\.0\.1:\d+/);

    // Without a credential in the deployment, the file's is used: the module runs.
    source.set(manifestWith({ private: module }));
    await loop.whenIdle();
    assert.deepEqual(reporter.status(), { code: 200, description: '' });
    assert.equal((await runtime.list()).find((m) => m.name === 'private')?.state.status, 'running');
    assert.ok(!logger.entries.some((e) => JSON.stringify(e).includes(reg.password)), 'the password is never logged');
  } finally {
    await loop.stop();
    await runtime.close();
  }
});
