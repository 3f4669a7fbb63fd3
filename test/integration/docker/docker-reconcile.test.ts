import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentSettings } from '../../../application/agent/agent-settings.js';
import { ReconcileDeployment } from '../../../application/agent/reconcile-deployment.js';
import { DockerModuleRuntime } from '../../../adapters/docker/docker-module-runtime.js';
import { InMemoryModuleStateStore } from '../../../adapters/state/in-memory-module-state-store.js';
import { MemoryDeploymentSource, manifestWith } from '../../support/agent/memory-deployment-source.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { RecordingReporter } from '../../support/agent/recording-reporter.js';
import { OffsetClock } from '../../support/docker/offset-clock.js';
import { TEST_LABEL, buildBusyboxImage, cleanupDocker, dockerClient, dockerModule, newRunId, until } from '../../support/docker/docker-fixtures.js';
import { skipUnless } from '../../support/services.js';

const skip = await skipUnless('docker');
const runId = newRunId();
const image = `edgeport-test/busybox:${runId}`;
const docker = dockerClient();
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  if (skip === false) await buildBusyboxImage(docker, image, runId);
});
after(async () => {
  for (const cleanup of cleanups) await cleanup();
  if (skip === false) await cleanupDocker(docker, runId, [image]);
});

/** Waits for a container to trap SIGTERM and exit 0, so stops are quick. */
const IDLE = 'trap "exit 0" TERM; while true; do sleep 0.1; done';

/**
 * Agent logic on an offset clock (real time + what the test skipped): Docker's start and exit
 * times are real, and cool-offs pass by jumping ahead instead of waiting.
 */
async function setup(name: string, restartPolicy: Partial<AgentSettings['restartPolicy']> = {}) {
  const clock = new OffsetClock();
  const logger = new MemoryLogger();
  const runtime = new DockerModuleRuntime(clock, logger, { labels: { [TEST_LABEL]: runId }, namePrefix: `ep-${runId}-${name}-`, defaultNetworkMode: 'none', stopTimeoutMs: 2000 });
  const source = new MemoryDeploymentSource();
  const reporter = new RecordingReporter();
  const settings = new AgentSettings({ stopTimeoutMs: 2000, restartPolicy: { ...new AgentSettings().restartPolicy, ...restartPolicy } });
  const loop = new ReconcileDeployment(source, runtime, new InMemoryModuleStateStore(), clock, logger, settings, reporter);
  // As the lifecycle does at agent start: the event stream is open before the first module starts.
  await runtime.watchEvents();
  cleanups.push(async () => {
    await loop.stop();
    await runtime.close();
  });
  const stateOf = async (module: string) => (await runtime.list()).find((m) => m.name === module)?.state;
  /** Moves agent time in 1 s steps up to `target`, letting each pass it triggers finish. */
  const advanceTo = async (target: number): Promise<void> => {
    while (clock.now() < target) {
      clock.advance(Math.min(1000, target - clock.now()));
      await loop.whenIdle();
    }
  };
  return { clock, runtime, source, reporter, loop, logger, stateOf, advanceTo };
}

test('update: a new version re-creates the container; removal from the deployment removes it', { skip, timeout: 60_000 }, async () => {
  const { runtime, source, reporter, loop, stateOf } = await setup('update');
  source.set(manifestWith({ app: dockerModule(image, IDLE, { env: { GREETING: { value: 'v1' } } }), other: dockerModule(image, IDLE) }));
  await loop.start();
  const first = await stateOf('app');
  const otherId = (await stateOf('other'))?.id;
  assert.equal(first?.status, 'running');
  assert.deepEqual(reporter.status(), { code: 200, description: '' });
  assert.equal(reporter.module('app')?.['runtimeStatus'], 'running');

  // A pass with nothing new leaves the containers alone (the spec read back from labels equals the desired one).
  await loop.whenIdle();
  source.set(manifestWith({ app: dockerModule(image, IDLE, { env: { GREETING: { value: 'v1' } } }), other: dockerModule(image, IDLE) }));
  await loop.whenIdle();
  assert.equal((await stateOf('app'))?.id, first?.id, 'same spec: not re-created');

  source.set(manifestWith({ app: dockerModule(image, IDLE, { version: '2.0', env: { GREETING: { value: 'v2' } } }), other: dockerModule(image, IDLE) }));
  await loop.whenIdle();
  const second = await stateOf('app');
  assert.equal(second?.status, 'running');
  assert.notEqual(second?.id, first?.id, 'a new container');
  assert.equal((await stateOf('other'))?.id, otherId, 'the unchanged module was not touched');
  const info = await docker.getContainer(`ep-${runId}-update-app`).inspect();
  assert.ok(info.Config.Env.includes('GREETING=v2'));
  assert.ok(info.Config.Env.includes('IOTEDGE_MODULEID=app'), 'the agent environment is injected');
  assert.equal(reporter.module('app')?.['version'], '2.0');

  source.set(manifestWith({ other: dockerModule(image, IDLE) }));
  await loop.whenIdle();
  assert.deepEqual((await runtime.list()).map((m) => m.name), ['other']);
  assert.equal(reporter.module('app'), undefined);

  source.set(manifestWith({ other: dockerModule(image, IDLE, { status: 'stopped' }) }));
  await loop.whenIdle();
  assert.equal((await stateOf('other'))?.status, 'stopped');
  assert.equal(reporter.module('other')?.['runtimeStatus'], 'stopped');
  assert.equal((await stateOf('other'))?.id, otherId, 'a status change does not re-create');
});

test('a crash-looping container backs off (10, 20 s of agent time) and ends failed after maxRestartCount', { skip, timeout: 60_000 }, async () => {
  const { source, reporter, loop, stateOf, advanceTo } = await setup('crash', { maxRestartCount: 2 });
  source.set(manifestWith({ crashy: dockerModule(image, 'echo boom >&2; exit 2', { restartPolicy: 'on-failure' }) }));
  await loop.start();
  const starts = new Set<number>();
  for (const [restart, coolOffSeconds] of [[1, 10], [2, 20]] as const) {
    await until(async () => (await stateOf('crashy'))?.status === 'failed', 10_000, `crash before restart ${restart}`);
    await loop.whenIdle(); // the exit event triggered a pass
    const state = await stateOf('crashy');
    starts.add(state?.startedAt ?? 0);
    assert.equal(reporter.module('crashy')?.['runtimeStatus'], 'backoff');
    assert.equal(reporter.module('crashy')?.['exitCode'], 2);
    assert.equal(reporter.module('crashy')?.['restartCount'], restart - 1);
    const due = (state?.exitedAt ?? 0) + coolOffSeconds * 1000;
    await advanceTo(due - 1000);
    assert.equal(reporter.module('crashy')?.['restartCount'], restart - 1, `still in back-off 1 s before ${coolOffSeconds} s`);
    await advanceTo(due + 1000);
    assert.equal(reporter.module('crashy')?.['restartCount'], restart, `restart ${restart} after ${coolOffSeconds} s`);
  }
  await until(async () => (await stateOf('crashy'))?.status === 'failed', 10_000, 'last crash');
  await loop.whenIdle();
  await until(async () => {
    await loop.whenIdle();
    return reporter.module('crashy')?.['runtimeStatus'] === 'failed';
  }, 10_000, 'reported failed');
  starts.add((await stateOf('crashy'))?.startedAt ?? 0);
  assert.equal(starts.size, 3, 'each restart started the container again');
  assert.equal(reporter.module('crashy')?.['restartCount'], 2);
});

test('an unhealthy container (failing health check) is restarted under on-unhealthy', { skip, timeout: 60_000 }, async () => {
  const { source, reporter, loop, stateOf, advanceTo } = await setup('health');
  const healthcheck = { Healthcheck: { Test: ['CMD', 'false'], Interval: 100_000_000, Timeout: 1_000_000_000, Retries: 1 } };
  source.set(manifestWith({ sick: dockerModule(image, IDLE, { restartPolicy: 'on-unhealthy' }, healthcheck) }));
  await loop.start();
  await until(async () => (await stateOf('sick'))?.status === 'unhealthy', 15_000, 'unhealthy');
  const state = await stateOf('sick');
  assert.ok(state?.unhealthySince !== undefined && state.startedAt !== undefined && state.unhealthySince >= state.startedAt);
  await until(async () => {
    await loop.whenIdle();
    return reporter.module('sick')?.['runtimeStatus'] === 'backoff';
  }, 10_000, 'reported backoff');
  await advanceTo((state?.unhealthySince ?? 0) + 11_000);
  assert.equal(reporter.module('sick')?.['restartCount'], 1, 'restarted once after the 10 s cool-off');
  const after = await stateOf('sick');
  assert.ok(after?.startedAt !== undefined && after.startedAt > (state?.startedAt ?? 0), 'the container was started again');
});

test('an agent restart finds its containers by their labels and leaves them running', { skip, timeout: 60_000 }, async () => {
  const first = await setup('restart');
  const manifest = manifestWith({ keep: dockerModule(image, IDLE, { env: { A: { value: '1' } } }), paused: dockerModule(image, IDLE, { status: 'stopped' }) });
  first.source.set(manifest);
  await first.loop.start();
  const before = await first.stateOf('keep');
  assert.equal(before?.status, 'running');
  assert.equal((await first.stateOf('paused'))?.status, 'stopped');
  await first.loop.stop();
  await first.runtime.close();

  // A new agent (new runtime object, nothing in memory) with the same deployment.
  const second = await setup('restart');
  second.source.set(manifest);
  await second.loop.start();
  const after = await second.stateOf('keep');
  assert.equal(after?.status, 'running');
  assert.equal(after?.id, before?.id, 'same container');
  assert.equal(after?.startedAt, before?.startedAt, 'not restarted');
  assert.equal((await second.stateOf('paused'))?.startedAt, undefined, 'the stopped module was not started');
  assert.deepEqual(second.reporter.status(), { code: 200, description: '' });
});

test('a container with the module label but no readable spec label is re-created by the agent', { skip, timeout: 60_000 }, async () => {
  const { source, reporter, loop, stateOf } = await setup('stale');
  await docker.createContainer({
    name: `ep-${runId}-stale-old`,
    Image: image,
    Cmd: ['sh', '-c', IDLE],
    Labels: { [TEST_LABEL]: runId, 'edgeport.module': 'old', 'edgeport.spec': '{not json' },
    HostConfig: { NetworkMode: 'none' },
  });
  source.set(manifestWith({ old: dockerModule(image, IDLE) }));
  await loop.start();
  assert.deepEqual(reporter.status(), { code: 200, description: '' });
  assert.equal((await stateOf('old'))?.status, 'running');
  const info = await docker.getContainer(`ep-${runId}-stale-old`).inspect();
  assert.notEqual(info.Config.Labels['edgeport.spec'], '{not json', 're-created with a proper spec label');
});
