import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deploymentConvergence, type ListedModule } from '../../../domain/deployment/convergence.js';
import type { ModuleSpec } from '../../../domain/modules/module-spec.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const OK = { code: 200 as const, description: '' };

function spec(name: string, overrides: Partial<ModuleSpec> = {}): ModuleSpec {
  return {
    name,
    version: '1.0',
    type: 'docker',
    status: 'running',
    restartPolicy: 'always',
    imagePullPolicy: 'on-create',
    startupOrder: 1,
    env: {},
    settings: { kind: 'docker', image: `registry.local/${name}:1`, createOptions: {} },
    ...overrides,
  };
}

function row(name: string, overrides: Partial<ListedModule> = {}): ListedModule {
  return { name, status: 'running', desiredStatus: 'running', config: `registry.local/${name}:1`, version: '1.0', description: 'Up 5 seconds', startedAt: NOW - 5000, system: false, ...overrides };
}

test('converged: every module running as deployed for the settle time, or stopped when so desired; system rows ignored', () => {
  const result = deploymentConvergence([spec('a'), spec('b', { status: 'stopped' })], [row('edgeAgent', { system: true, config: 'x' }), row('a'), row('b', { status: 'stopped', desiredStatus: 'stopped', description: 'Stopped', startedAt: undefined })], OK, NOW);
  assert.equal(result.converged, true);
  assert.equal(result.failed, false);
  assert.deepEqual(result.modules.map((m) => `${m.module} ${m.state}`), ['a converged', 'b converged']);
});

test('pending: not listed yet, an older version or image still there, downloading, just started, a removed module not gone', () => {
  const cases: Array<[ListedModule[], string]> = [
    [[], 'waiting for the agent'],
    [[row('a', { version: '0.9', description: 'Up 2 hours' })], 'updating (Up 2 hours)'],
    [[row('a', { config: 'registry.local/a:0', description: 'Up 2 hours' })], 'updating (Up 2 hours)'],
    [[row('a', { status: 'downloading', description: 'Downloading 1.0 MB / 4.0 MB (25%)', startedAt: undefined })], 'Downloading 1.0 MB / 4.0 MB (25%)'],
    [[row('a', { startedAt: NOW - 300, description: 'Up less than a second' })], 'Up less than a second'],
  ];
  for (const [listed, text] of cases) {
    const result = deploymentConvergence([spec('a')], listed, OK, NOW);
    assert.equal(result.converged, false, text);
    assert.equal(result.failed, false, text);
    assert.deepEqual(result.modules, [{ module: 'a', state: 'pending', text }]);
  }
  const removed = deploymentConvergence([spec('a')], [row('a'), row('old')], OK, NOW);
  assert.equal(removed.converged, false);
  assert.deepEqual(removed.modules[1], { module: 'old', state: 'pending', text: 'being removed' });
});

test('failed: a failed module (with its reason), an update that could not be prepared, a refused deployment', () => {
  const failed = deploymentConvergence([spec('a')], [row('a', { status: 'failed', description: 'Failed: image refused (no signature)', statusDescription: 'image refused: no signature for sha256:ab' })], OK, NOW);
  assert.equal(failed.failed, true);
  assert.equal(failed.reason, 'a: Failed: image refused (no signature): image refused: no signature for sha256:ab');

  const update = deploymentConvergence([spec('a', { version: '2.0' })], [row('a')], { code: 500, description: 'start b: oops; prepare a: cannot pull image registry.local/a:1: unauthorized' }, NOW);
  assert.equal(update.failed, true);
  assert.equal(update.reason, 'a: cannot pull image registry.local/a:1: unauthorized');

  const refused = deploymentConvergence([spec('a')], [row('a')], { code: 400, description: 'Agent configuration format is invalid. the manifest is not signed' }, NOW);
  assert.equal(refused.failed, true);
  assert.match(refused.reason ?? '', /^the agent refused the deployment: 400 Agent configuration format is invalid\. the manifest is not signed/);
});
