import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentMethods } from '../../../application/agent/agent-methods.js';
import { AgentSettings } from '../../../application/agent/agent-settings.js';
import { ModuleManagement } from '../../../application/agent/module-management.js';
import { ReconcileDeployment } from '../../../application/agent/reconcile-deployment.js';
import { InMemoryModuleStateStore } from '../../../adapters/state/in-memory-module-state-store.js';
import { PrometheusMetrics } from '../../../adapters/metrics/prometheus-metrics.js';
import { describeDownload, formatBytes, ModulePreparationError, type DownloadProgress } from '../../../domain/modules/module-preparation.js';
import type { ModuleSpec } from '../../../domain/modules/module-spec.js';
import { describeModuleStatus } from '../../../domain/modules/status-description.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeModuleRuntime } from '../../support/agent/fake-module-runtime.js';
import { MemoryDeploymentSource, manifestWith, processModule } from '../../support/agent/memory-deployment-source.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { RecordingReporter } from '../../support/agent/recording-reporter.js';
import { until } from '../../support/agent/process-fixtures.js';

const T0 = Date.UTC(2026, 0, 1);
const MB = 1_000_000;

/** A fake runtime whose `prepare` pulls an "image" the test drives: progress events, then done or an error. */
class PullingRuntime extends FakeModuleRuntime {
  private pending: { resolve: () => void; reject: (error: Error) => void } | undefined;
  prepared: string[] = [];
  failNext: Error | undefined;
  /** Pull at once instead of waiting for `finish`. */
  instant = false;

  override async prepare(spec: ModuleSpec): Promise<void> {
    this.calls.push(`prepare ${spec.name}`);
    if (this.failNext !== undefined) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    if (!this.instant) await new Promise<void>((resolve, reject) => (this.pending = { resolve, reject }));
    this.pending = undefined;
    this.prepared.push(spec.name);
  }

  get pulling(): boolean {
    return this.pending !== undefined;
  }

  progress(module: string, progress: DownloadProgress): void {
    this.emit({ module, kind: 'downloading', time: 0, image: 'registry.local/big:1', progress });
  }

  finish(): void {
    this.pending?.resolve();
  }
}

function setup() {
  const clock = new FakeClock(T0);
  const runtime = new PullingRuntime(clock);
  const states = new InMemoryModuleStateStore();
  const source = new MemoryDeploymentSource();
  const reporter = new RecordingReporter();
  const metrics = new PrometheusMetrics();
  const settings = new AgentSettings();
  const loop = new ReconcileDeployment(source, runtime, states, clock, new MemoryLogger(), settings, reporter, metrics);
  const management = new ModuleManagement(runtime, states, loop, new AgentMethods(runtime, clock, settings), settings, clock);
  /** Moves the fake clock in 1 s steps, letting every pass that fires finish. */
  const advance = async (ms: number): Promise<void> => {
    for (let left = ms; left > 0; left -= 1000) {
      clock.advance(Math.min(1000, left));
      await loop.whenIdle();
    }
  };
  const gauge = (name: string, labels: Record<string, string>): number | undefined =>
    metrics.snapshot().find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  return { clock, runtime, source, reporter, loop, management, gauge, advance };
}

test('downloading: while the image is pulled the module is downloading (reported, listed, metrics) with bytes done / total, then running', async () => {
  const { runtime, source, reporter, loop, management, gauge } = setup();
  source.set(manifestWith({ big: processModule() }));
  const started = loop.start();
  try {
    await until(() => runtime.pulling, 2000, 'prepare called');
    assert.deepEqual(runtime.calls, ['prepare big'], 'nothing created before the image is there');
    runtime.progress('big', { doneBytes: 0, totalBytes: 4 * MB, layers: 2, layersDone: 0 });
    await until(() => reporter.module('big')?.['runtimeStatus'] === 'downloading', 2000, 'downloading reported');
    runtime.progress('big', { doneBytes: 1 * MB, totalBytes: 4 * MB, layers: 2, layersDone: 1 });
    await until(() => String(reporter.module('big')?.['statusDescription']).includes('1.0 MB of 4.0 MB'), 2000, 'progress reported');
    assert.equal(reporter.module('big')?.['statusDescription'], 'downloading registry.local/big:1: 1.0 MB of 4.0 MB, 1 of 2 layers');
    assert.equal(reporter.module('big')?.['restartPolicy'], 'always', 'the desired fields are reported too');

    const row = (await management.list()).find((r) => r.name === 'big');
    assert.equal(row?.status, 'downloading');
    assert.deepEqual(row?.download, { doneBytes: 1 * MB, totalBytes: 4 * MB, layers: 2, layersDone: 1 });
    assert.equal(row?.description, 'Downloading 1.0 MB / 4.0 MB (25%)');
    assert.equal(gauge('edgeport_agent_modules', { runtime_status: 'downloading' }), 1);
    assert.equal(gauge('edgeport_agent_image_download_bytes', { module_name: 'big' }), 1 * MB);
    assert.equal(gauge('edgeport_agent_image_download_size_bytes', { module_name: 'big' }), 4 * MB);

    runtime.finish();
    await started;
    await loop.whenIdle();
    assert.deepEqual(runtime.calls, ['prepare big', 'create big', 'start big']);
    assert.equal(reporter.module('big')?.['runtimeStatus'], 'running');
    assert.equal(reporter.module('big')?.['statusDescription'], 'running');
    assert.deepEqual(reporter.status(), { code: 200, description: '' });
    assert.equal((await management.list()).find((r) => r.name === 'big')?.status, 'running');
    assert.equal(gauge('edgeport_agent_modules', { runtime_status: 'downloading' }), 0);
    assert.equal(gauge('edgeport_agent_image_download_bytes', { module_name: 'big' }), 0, 'gauges zeroed when the pull is over');
  } finally {
    runtime.finish();
    await loop.stop();
  }
});

test('a pull that fails: failed with the pull error, retried after the back-off (10 s, 20 s), then running', async () => {
  const { runtime, source, reporter, loop, management, advance } = setup();
  const error = (): Error => new ModulePreparationError('big', 'pull', 'image pull failed', 'cannot pull image registry.local/big:1: connection refused');
  runtime.failNext = error();
  source.set(manifestWith({ big: processModule() }));
  await loop.start();
  try {
    assert.equal(reporter.module('big')?.['runtimeStatus'], 'failed');
    assert.equal(reporter.module('big')?.['statusDescription'], 'cannot pull image registry.local/big:1: connection refused');
    assert.equal(reporter.status().code, 500);
    assert.match(reporter.status().description, /^prepare big: cannot pull image/);
    let row = (await management.list()).find((r) => r.name === 'big');
    assert.equal(row?.status, 'failed');
    assert.equal(row?.failure, 'image pull failed');
    assert.equal(row?.retryAt, T0 + 10_000);
    assert.equal(row?.description, 'Failed: image pull failed, retry in 10 s');
    assert.equal(row?.statusDescription, 'cannot pull image registry.local/big:1: connection refused');

    // Not before the back-off: 9 s later nothing was tried again.
    runtime.failNext = error();
    await advance(9000);
    assert.deepEqual(runtime.calls, ['prepare big']);
    await advance(1000);
    assert.deepEqual(runtime.calls, ['prepare big', 'prepare big'], 'retried at 10 s');
    row = (await management.list()).find((r) => r.name === 'big');
    assert.equal(row?.retryAt, T0 + 30_000, 'then 20 s later');

    runtime.instant = true;
    await advance(19_000);
    assert.equal(runtime.calls.length, 2, 'not before 20 s');
    await advance(1000);
    assert.deepEqual(runtime.calls, ['prepare big', 'prepare big', 'prepare big', 'create big', 'start big']);
    assert.equal(reporter.module('big')?.['runtimeStatus'], 'running');
    assert.equal(reporter.status().code, 200);
  } finally {
    runtime.finish();
    await loop.stop();
  }
});

test('an update whose image cannot be pulled leaves the old module running', async () => {
  const { runtime, source, reporter, loop } = setup();
  source.set(manifestWith({ app: processModule() }));
  const started = loop.start();
  await until(() => runtime.pulling, 2000, 'first prepare');
  runtime.finish();
  await started;
  try {
    assert.equal(reporter.module('app')?.['runtimeStatus'], 'running');
    runtime.failNext = new ModulePreparationError('app', 'refused', 'image refused (no signature)', 'image refused: no signature');
    source.set(manifestWith({ app: processModule({ version: '2.0' }) }));
    await loop.whenIdle();
    assert.ok(!runtime.calls.includes('stop app'), `no stop: ${runtime.calls.join(', ')}`);
    assert.equal(runtime.statusOf('app'), 'running');
    assert.equal(reporter.module('app')?.['runtimeStatus'], 'running');
    assert.equal(reporter.module('app')?.['version'], '1.0', 'the module that runs is reported');
    assert.match(reporter.status().description, /^prepare app: image refused: no signature/);
  } finally {
    runtime.finish();
    await loop.stop();
  }
});

test('formatBytes and the download descriptions', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1500), '1.5 kB');
  assert.equal(formatBytes(12_345_678), '12.3 MB');
  assert.equal(describeDownload({ doneBytes: 0, totalBytes: 0, layers: 1, layersDone: 0 }), '0 B of ?, 0 of 1 layer');
  const now = T0;
  assert.equal(describeModuleStatus({ status: 'downloading', exitCode: 0 }, now), 'Downloading');
  assert.equal(describeModuleStatus({ status: 'downloading', exitCode: 0, download: { doneBytes: 5 * MB, totalBytes: 5 * MB, layers: 1, layersDone: 1 } }, now), 'Downloading 5.0 MB / 5.0 MB (100%)');
  assert.equal(describeModuleStatus({ status: 'failed', exitCode: 0, failure: 'image refused (bad signature)' }, now), 'Failed: image refused (bad signature)');
  assert.equal(describeModuleStatus({ status: 'failed', exitCode: 0, failure: 'image pull failed', retryAt: now }, now), 'Failed: image pull failed, retry due');
});
