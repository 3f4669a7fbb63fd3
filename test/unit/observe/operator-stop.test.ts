import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentSettings } from '../../../application/agent/agent-settings.js';
import { ReconcileDeployment } from '../../../application/agent/reconcile-deployment.js';
import { InMemoryModuleStateStore } from '../../../adapters/state/in-memory-module-state-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeModuleRuntime } from '../../support/agent/fake-module-runtime.js';
import { InMemoryMetrics } from '../../support/in-memory-metrics.js';
import { MemoryDeploymentSource, manifestWith, processModule } from '../../support/agent/memory-deployment-source.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { RecordingReporter } from '../../support/agent/recording-reporter.js';

function agent() {
  const clock = new FakeClock();
  const runtime = new FakeModuleRuntime(clock);
  const source = new MemoryDeploymentSource();
  const metrics = new InMemoryMetrics();
  const loop = new ReconcileDeployment(source, runtime, new InMemoryModuleStateStore(), clock, new MemoryLogger(), new AgentSettings(), new RecordingReporter(), metrics);
  const advance = async (ms: number): Promise<void> => {
    for (let left = ms; left > 0; left -= 1000) {
      clock.advance(Math.min(1000, left));
      await loop.whenIdle();
    }
  };
  return { runtime, source, loop, advance, metrics };
}

test("an operator's stop holds against the restart policy until start or the next deployment", async () => {
  const { runtime, source, loop, advance } = agent();
  source.set(manifestWith({ a: processModule({ restartPolicy: 'always' }) }));
  await loop.start();
  try {
    assert.equal(runtime.statusOf('a'), 'running');
    assert.equal(await loop.setOperatorStatus('a', 'stopped'), true);
    assert.equal(runtime.statusOf('a'), 'stopped');
    await advance(60_000);
    assert.equal(runtime.statusOf('a'), 'stopped', 'restartPolicy always does not bring it back');
    assert.equal(await loop.setOperatorStatus('a', 'running'), true);
    assert.equal(runtime.statusOf('a'), 'running');
    await loop.setOperatorStatus('a', 'stopped');
    source.set(manifestWith({ a: processModule({ restartPolicy: 'always', version: '2.0' }) }));
    await loop.reconcile();
    await advance(5000);
    assert.equal(runtime.statusOf('a'), 'running', 'a new deployment clears the stop');
    assert.equal(await loop.setOperatorStatus('nope', 'stopped'), false);
  } finally {
    await loop.stop();
  }
});

test("Azure's edgeAgent availability: time expected and time running, per module, pass by pass", async () => {
  const { runtime, source, loop, advance, metrics } = agent();
  source.set(manifestWith({ a: processModule({ restartPolicy: 'never' }) }));
  await loop.start();
  try {
    await advance(10_000);
    runtime.crash('a', 1);
    await loop.whenIdle();
    await advance(20_000);
    assert.equal(metrics.value('edgeAgent_total_time_expected_running_seconds', { module_name: 'a' }), 30);
    assert.equal(metrics.value('edgeAgent_total_time_running_correctly_seconds', { module_name: 'a' }), 10);
    assert.equal(metrics.value('edgeAgent_total_time_running_correctly_seconds', { module_name: 'edgeAgent' }), 30);
    assert.equal(metrics.value('edgeAgent_module_start_total', { module_name: 'a', module_version: '1.0' }), 1);
  } finally {
    await loop.stop();
  }
});
