import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentSettings } from '../../../application/agent/agent-settings.js';
import { ReconcileDeployment } from '../../../application/agent/reconcile-deployment.js';
import { InMemoryModuleStateStore } from '../../../adapters/state/in-memory-module-state-store.js';
import { parseAgentDesired } from '../../../domain/deployment/agent-desired.js';
import { spellingKey } from '../../../domain/deployment/problems.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeModuleRuntime } from '../../support/agent/fake-module-runtime.js';
import { MemoryDeploymentSource, manifestWith, processModule } from '../../support/agent/memory-deployment-source.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { RecordingReporter } from '../../support/agent/recording-reporter.js';
import { RESTART_POLICY_SPELLINGS, STATUS_SPELLINGS } from '../../support/agent/preview-spellings.js';

function parsed(module: Record<string, unknown>): ReturnType<typeof parseAgentDesired> {
  return parseAgentDesired({ schemaVersion: '1.1', modules: { m: module } });
}

for (const [spelling, canonical] of RESTART_POLICY_SPELLINGS) {
  test(`restartPolicy "${spelling}" is read as "${canonical}"`, () => {
    const result = parsed(processModule({ restartPolicy: spelling }));
    assert.ok(result.ok, result.ok ? '' : result.status.description);
    assert.equal(result.value.modules[0]?.restartPolicy, canonical);
  });
}

for (const [spelling, canonical] of STATUS_SPELLINGS) {
  test(`status "${spelling}" is read as "${canonical}"`, () => {
    const result = parsed(processModule({ status: spelling }));
    assert.ok(result.ok, result.ok ? '' : result.status.description);
    assert.equal(result.value.modules[0]?.status, canonical);
  });
}

test('imagePullPolicy and type fold the same way (onCreate, On-Create, Process)', () => {
  for (const spelling of ['onCreate', 'On-Create', 'ON_CREATE']) {
    const result = parsed(processModule({ imagePullPolicy: spelling, type: 'Process' }));
    assert.ok(result.ok, result.ok ? '' : result.status.description);
    assert.equal(result.value.modules[0]?.imagePullPolicy, 'on-create');
    assert.equal(result.value.modules[0]?.type, 'process');
  }
});

test('spellings that mean nothing are still 400 with the canonical choices', () => {
  for (const spelling of ['sometimes', 'onfail', 'healthy', 'on-', '']) {
    const result = parsed(processModule({ restartPolicy: spelling }));
    assert.equal(result.ok, false, spelling);
    if (result.ok) continue;
    assert.equal(result.status.code, 400);
    assert.match(result.status.description, /restartPolicy: expected one of "never", "on-failure", "on-unhealthy", "always"/);
  }
  const status = parsed(processModule({ status: 'downloading' }));
  assert.equal(status.ok, false, 'downloading is a runtime status, never a desired one');
});

test('spellingKey folds case, hyphens, underscores and blanks only', () => {
  assert.equal(spellingKey(' On-Failure '), 'onfailure');
  assert.equal(spellingKey('ON_UN-HEALTHY'), 'onunhealthy');
  assert.notEqual(spellingKey('on.failure'), spellingKey('on-failure'));
});

test('reported properties carry the canonical spelling of every preview spelling', async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const runtime = new FakeModuleRuntime(clock);
  const source = new MemoryDeploymentSource();
  const reporter = new RecordingReporter();
  const loop = new ReconcileDeployment(source, runtime, new InMemoryModuleStateStore(), clock, new MemoryLogger(), new AgentSettings(), reporter);
  const modules = Object.fromEntries(RESTART_POLICY_SPELLINGS.map(([spelling], i) => [`m${i}`, processModule({ restartPolicy: spelling, status: i % 2 === 0 ? 'Running' : 'STOPPED' })]));
  source.set(manifestWith(modules));
  await loop.start();
  try {
    assert.deepEqual(reporter.status(), { code: 200, description: '' });
    RESTART_POLICY_SPELLINGS.forEach(([spelling, canonical], i) => {
      const entry = reporter.module(`m${i}`);
      assert.equal(entry?.['restartPolicy'], canonical, `${spelling} reported canonically`);
      assert.equal(entry?.['status'], i % 2 === 0 ? 'running' : 'stopped');
      assert.equal(entry?.['runtimeStatus'], i % 2 === 0 ? 'running' : 'stopped');
    });
  } finally {
    await loop.stop();
  }
});
