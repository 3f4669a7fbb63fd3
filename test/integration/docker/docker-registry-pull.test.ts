import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentSettings } from '../../../application/agent/agent-settings.js';
import { ReconcileDeployment } from '../../../application/agent/reconcile-deployment.js';
import { DockerModuleRuntime } from '../../../adapters/docker/docker-module-runtime.js';
import { InMemoryModuleStateStore } from '../../../adapters/state/in-memory-module-state-store.js';
import { MemoryDeploymentSource, manifestWith } from '../../support/agent/memory-deployment-source.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { RecordingReporter } from '../../support/agent/recording-reporter.js';
import { TEST_LABEL, dockerClient, dockerModule, newRunId } from '../../support/docker/docker-fixtures.js';
import { registryWithImage, skipUnlessRegistry } from '../../support/docker/local-registry.js';
import { OffsetClock } from '../../support/docker/offset-clock.js';

const skip = await skipUnlessRegistry();
const runId = newRunId();
const docker = dockerClient();
const fixture = registryWithImage(skip, runId);

test('pull from a password-protected registry: 500 saying why without credentials, running with them', { skip, timeout: 60_000 }, async () => {
  const reg = fixture.registry();
  const remoteImage = fixture.image();
  const clock = new OffsetClock();
  const logger = new MemoryLogger();
  const runtime = new DockerModuleRuntime(clock, logger, { labels: { [TEST_LABEL]: runId }, namePrefix: `ep-${runId}-`, defaultNetworkMode: 'none', stopTimeoutMs: 1000, pullProgressIntervalMs: 0 });
  const source = new MemoryDeploymentSource();
  const reporter = new RecordingReporter();
  const loop = new ReconcileDeployment(source, runtime, new InMemoryModuleStateStore(), clock, logger, new AgentSettings({ stopTimeoutMs: 1000 }), reporter);
  try {
    const module = dockerModule(remoteImage, 'trap "exit 0" TERM; while true; do sleep 0.1; done', { imagePullPolicy: 'on-create' });
    source.set(manifestWith({ private: module }));
    await loop.start();
    assert.equal(reporter.status().code, 500);
    assert.match(reporter.status().description, /^prepare private: cannot pull image 127\.0\.0\.1:\d+\/edgeport-test\/busybox:\S+ \(no registry credential matches its registry\): Head "http:\/\/127\.0\.0\.1:\d+\/v2\/.*(no basic auth credentials|unauthorized|authentication required)/i);
    assert.deepEqual(await runtime.list(), []);
    // Not created, yet reported: failed with the pull error, retried after the back-off.
    assert.equal(reporter.module('private')?.['runtimeStatus'], 'failed');
    assert.match(String(reporter.module('private')?.['statusDescription']), /^cannot pull image .* \(no registry credential matches its registry\)/);

    const credentials = { local: { address: reg.address, username: reg.username, password: reg.password } };
    source.set(manifestWith({ private: module }, { runtime: { type: 'docker', settings: { registryCredentials: credentials } } }));
    await loop.whenIdle();
    assert.deepEqual(reporter.status(), { code: 200, description: '' });
    const current = (await runtime.list()).find((m) => m.name === 'private');
    assert.equal(current?.state.status, 'running');
    assert.equal(current?.spec.registryCredential?.password, reg.password, 'the credential is restored from memory, not stored in a label');
    const info = await docker.getContainer(`ep-${runId}-private`).inspect();
    assert.ok(!JSON.stringify(info.Config.Labels).includes(reg.password), 'no password in the labels');
    assert.ok(logger.entries.some((e) => e.message.startsWith(`pulling ${remoteImage}:`)), 'pull progress logged');

    // Nothing changed: the next pass does not re-create the module.
    const id = current?.state.id;
    clock.advance(6000);
    await loop.whenIdle();
    assert.equal((await runtime.list()).find((m) => m.name === 'private')?.state.id, id);
  } finally {
    await loop.stop();
    await runtime.close();
  }
});
