import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentSettings } from '../../../application/agent/agent-settings.js';
import { ReconcileDeployment } from '../../../application/agent/reconcile-deployment.js';
import { InMemoryModuleStateStore } from '../../../adapters/state/in-memory-module-state-store.js';
import { PrometheusMetrics } from '../../../adapters/metrics/prometheus-metrics.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeModuleRuntime } from '../../support/agent/fake-module-runtime.js';
import { MemoryDeploymentSource, manifestWith, processModule } from '../../support/agent/memory-deployment-source.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { RecordingReporter } from '../../support/agent/recording-reporter.js';

const T0 = Date.UTC(2026, 0, 1);

function setup(settings: Partial<AgentSettings> = {}) {
  const clock = new FakeClock(T0);
  const metrics = new PrometheusMetrics();
  const runtime = new FakeModuleRuntime(clock);
  const store = new InMemoryModuleStateStore();
  const source = new MemoryDeploymentSource();
  const logger = new MemoryLogger();
  const reporter = new RecordingReporter();
  const loop = new ReconcileDeployment(source, runtime, store, clock, logger, new AgentSettings(settings), reporter, metrics);
  /** Moves the fake clock in 1 s steps, letting every pass that fires finish. */
  const advance = async (ms: number): Promise<void> => {
    for (let left = ms; left > 0; left -= 1000) {
      clock.advance(Math.min(1000, left));
      await loop.whenIdle();
    }
  };
  return { clock, runtime, store, source, logger, reporter, loop, advance, metrics };
}

test('a deployment creates and starts its modules, with IOTEDGE_* env, and reports 200', async () => {
  const { runtime, source, reporter, loop } = setup({ environment: { iothubHostname: 'hub.example', deviceId: 'dev1', gatewayHostname: 'gw', apiVersion: '2022-08-03' } });
  source.set(manifestWith({ a: processModule({ env: { LEVEL: { value: 'debug' } } }), b: processModule({ status: 'stopped' }) }));
  await loop.start();
  assert.deepEqual(runtime.calls, ['create a', 'start a', 'create b']);
  assert.equal(runtime.statusOf('a'), 'running');
  assert.equal(runtime.statusOf('b'), 'stopped');
  assert.deepEqual(runtime.envOf('a'), {
    LEVEL: 'debug',
    IOTEDGE_IOTHUBHOSTNAME: 'hub.example',
    IOTEDGE_DEVICEID: 'dev1',
    IOTEDGE_MODULEID: 'a',
    IOTEDGE_AUTHSCHEME: 'sasToken',
    IOTEDGE_APIVERSION: '2022-08-03',
    IOTEDGE_GATEWAYHOSTNAME: 'gw',
  });
  assert.deepEqual(reporter.status(), { code: 200, description: '' });
  assert.equal(reporter.document['lastDesiredVersion'], 1);
  assert.equal(reporter.document['schemaVersion'], '1.0');
  const a = reporter.module('a');
  assert.equal(a?.['runtimeStatus'], 'running');
  assert.equal(a?.['restartCount'], 0);
  assert.equal(a?.['lastStartTimeUtc'], '2026-01-01T00:00:00.000');
  assert.equal(a?.['lastExitTimeUtc'], '0001-01-01T00:00:00');
  assert.deepEqual(a?.['env'], { LEVEL: { value: 'debug' } });
  assert.deepEqual(a?.['settings'], { command: 'node', args: ['-e', '0'] });
  assert.equal(reporter.module('b')?.['runtimeStatus'], 'stopped');
  assert.equal((reporter.document['systemModules'] as any).edgeAgent.runtimeStatus, 'running'); // any: reported JSON
  await loop.stop();
});

test('reported properties are sent as diff patches; an unchanged pass sends nothing', async () => {
  const { source, reporter, loop, runtime, advance } = setup();
  source.set(manifestWith({ a: processModule() }));
  await loop.start();
  const count = reporter.patches.length;
  await advance(5000);
  assert.equal(reporter.patches.length, count, 'no change, no patch');
  runtime.crash('a', 3);
  await loop.whenIdle();
  const patch = reporter.patches.at(-1) as any; // any: reported JSON
  assert.deepEqual(Object.keys(patch), ['modules']);
  assert.deepEqual(Object.keys(patch.modules.a).sort(), ['exitCode', 'lastExitTimeUtc', 'runtimeStatus', 'statusDescription']);
  assert.equal(patch.modules.a.runtimeStatus, 'backoff');
  assert.equal(patch.modules.a.exitCode, 3);
  await loop.stop();
});

test('crash loop: restarts after 10, 20, 40, 80, 160, 300 s; failed after 20 restarts; counts reported', async () => {
  const { clock, runtime, source, reporter, loop, advance, store } = setup();
  source.set(manifestWith({ crashy: processModule({ restartPolicy: 'on-failure' }) }));
  await loop.start();
  const waits: number[] = [];
  for (let i = 0; i < 22; i++) {
    runtime.crash('crashy', 1);
    await loop.whenIdle();
    const crashedAt = clock.now();
    const restartsBefore = runtime.calls.filter((c) => c === 'start crashy').length;
    let waited = 0;
    while (runtime.calls.filter((c) => c === 'start crashy').length === restartsBefore && waited < 400_000) {
      await advance(1000);
      waited += 1000;
    }
    if (waited >= 400_000) break;
    waits.push((clock.now() - crashedAt) / 1000);
    assert.equal(reporter.module('crashy')?.['restartCount'], i + 1);
    assert.equal(reporter.module('crashy')?.['runtimeStatus'], 'running');
  }
  assert.deepEqual(waits.slice(0, 7), [10, 20, 40, 80, 160, 300, 300]);
  assert.equal(waits.length, 20);
  assert.equal((await store.get('crashy'))?.restartCount, 20);
  assert.equal(reporter.module('crashy')?.['runtimeStatus'], 'failed');
  assert.equal(reporter.module('crashy')?.['lastRestartTimeUtc'] !== '0001-01-01T00:00:00', true);
  // A new version of the module resets the count.
  source.set(manifestWith({ crashy: processModule({ restartPolicy: 'on-failure', version: '2' }) }));
  await loop.whenIdle();
  assert.equal(runtime.statusOf('crashy'), 'running');
  assert.equal(reporter.module('crashy')?.['restartCount'], 0);
  await loop.stop();
});

test('restart count resets after 10 minutes of running', async () => {
  const { runtime, source, reporter, loop, advance } = setup();
  source.set(manifestWith({ a: processModule() }));
  await loop.start();
  runtime.crash('a', 1);
  await loop.whenIdle();
  await advance(10_000);
  assert.equal(reporter.module('a')?.['restartCount'], 1);
  await advance(10 * 60_000 - 5000);
  assert.equal(reporter.module('a')?.['restartCount'], 1);
  await advance(10_000);
  assert.equal(reporter.module('a')?.['restartCount'], 0);
  await loop.stop();
});

test('on-unhealthy restarts an unhealthy module after the cool-off', async () => {
  const { runtime, source, reporter, loop, advance } = setup();
  source.set(manifestWith({ a: processModule({ restartPolicy: 'on-unhealthy' }) }));
  await loop.start();
  runtime.unhealthy('a');
  await loop.whenIdle();
  assert.equal(reporter.module('a')?.['runtimeStatus'], 'backoff');
  await advance(9000);
  assert.equal(runtime.statusOf('a'), 'unhealthy');
  await advance(1000);
  assert.equal(runtime.statusOf('a'), 'running');
  assert.deepEqual(runtime.calls.slice(-2), ['stop a', 'start a']);
  await loop.stop();
});

test('invalid manifests (400, 412, 417) are reported while the previous modules keep running', async () => {
  const { runtime, source, reporter, loop, advance } = setup();
  source.set(manifestWith({ a: processModule() }));
  await loop.start();
  const cases: Array<[unknown, number, RegExp]> = [
    [manifestWith({ a: processModule({ status: 'sometimes' }) }), 400, /modules\.a\.status/],
    [{ modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion: '2.0', modules: {} } } } }, 412, /not compatible with the expected version 1\.1\.0/],
    [{ modulesContent: { $edgeAgent: { 'properties.desired': {} } } }, 417, /empty configuration/],
  ];
  for (const [manifest, code, description] of cases) {
    source.set(manifest);
    await loop.whenIdle();
    assert.equal(reporter.status().code, code);
    assert.match(reporter.status().description, description);
    assert.equal(runtime.statusOf('a'), 'running', 'previous deployment kept');
    assert.equal(reporter.module('a')?.['runtimeStatus'], 'running');
  }
  assert.equal(reporter.document['lastDesiredVersion'], 4);
  // The kept deployment is still enforced: a crash is still restarted.
  runtime.crash('a', 1);
  await loop.whenIdle();
  await advance(10_000);
  assert.equal(runtime.statusOf('a'), 'running');
  assert.equal(reporter.status().code, 417, 'still reporting the rejected version');
  source.set(manifestWith({ a: processModule(), b: processModule() }));
  await loop.whenIdle();
  assert.deepEqual(reporter.status(), { code: 200, description: '' });
  assert.equal(runtime.statusOf('b'), 'running');
  await loop.stop();
});

test('an invalid first manifest touches nothing and reports its code', async () => {
  const { runtime, source, reporter, loop } = setup();
  source.set({ modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion: 'x' } } } });
  await loop.start();
  assert.deepEqual(runtime.calls, []);
  assert.deepEqual(reporter.status(), { code: 412, description: 'Invalid desired properties schema version x' });
  await loop.stop();
});

test('a failing command gives 500, is retried with back-off, and the status returns to 200', async () => {
  const { runtime, source, reporter, loop, advance } = setup();
  runtime.fail('start a', new Error('spawn node ENOENT'));
  source.set(manifestWith({ a: processModule(), b: processModule() }));
  await loop.start();
  assert.deepEqual(reporter.status(), { code: 500, description: 'start a: spawn node ENOENT' });
  assert.equal(runtime.statusOf('b'), 'running', 'other modules still deployed');
  const attempts = (): number => runtime.calls.filter((c) => c === 'start a').length;
  assert.equal(attempts(), 1);
  await advance(9000);
  assert.equal(attempts(), 1, 'in back-off (10 s)');
  await advance(1000);
  assert.equal(attempts(), 2);
  await advance(15_000);
  assert.equal(attempts(), 2, 'second back-off is 20 s');
  runtime.heal('start a');
  await advance(5000);
  assert.equal(attempts(), 3);
  assert.equal(runtime.statusOf('a'), 'running');
  assert.deepEqual(reporter.status(), { code: 200, description: '' });
  await loop.stop();
});

test('removing and updating modules through new deployments', async () => {
  const { runtime, source, reporter, loop } = setup();
  source.set(manifestWith({ a: processModule(), b: processModule() }));
  await loop.start();
  runtime.calls.length = 0;
  source.set(manifestWith({ a: processModule({ version: '2.0' }) }));
  await loop.whenIdle();
  assert.deepEqual(runtime.calls, ['stop b', 'remove b', 'stop a', 'remove a', 'create a', 'start a']);
  assert.equal(reporter.module('b'), undefined, 'removed module deleted from reported properties');
  assert.equal(reporter.module('a')?.['version'], '2.0');
  runtime.calls.length = 0;
  source.set(manifestWith({ a: processModule({ version: '2.0', status: 'stopped' }) }));
  await loop.whenIdle();
  assert.deepEqual(runtime.calls, ['stop a']);
  assert.equal(reporter.module('a')?.['status'], 'stopped');
  assert.equal(reporter.module('a')?.['runtimeStatus'], 'stopped');
  await loop.stop();
});

test('stop reports 406 "Agent is not running" with every module unknown', async () => {
  const { source, reporter, loop } = setup();
  source.set(manifestWith({ a: processModule() }));
  await loop.start();
  await loop.stop();
  assert.deepEqual(reporter.status(), { code: 406, description: 'Agent is not running' });
  assert.equal(reporter.module('a')?.['runtimeStatus'], 'unknown');
});

test('the loop wakes every reconcile interval and stops scheduling after stop', async () => {
  const { clock, source, loop, runtime } = setup({ reconcileIntervalMs: 5000 });
  source.set(manifestWith({ a: processModule({ restartPolicy: 'never' }) }));
  await loop.start();
  assert.equal(clock.pendingCount, 1);
  runtime.crash('a', 1);
  await loop.whenIdle();
  assert.equal(clock.pendingCount, 1);
  await loop.stop();
  assert.equal(clock.pendingCount, 0);
});

test('metrics: starts, stops, policy restarts, failures, status code and modules by status', async () => {
  const { runtime, source, loop, advance, metrics } = setup();
  source.set(manifestWith({ a: processModule(), b: processModule() }));
  runtime.fail('start b');
  await loop.start();
  runtime.crash('a', 1);
  await loop.whenIdle();
  await advance(10_000);
  const value = (name: string, labels: Record<string, string> = {}): number | undefined =>
    metrics.snapshot().find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  assert.equal(value('edgeport_agent_module_start_total', { module_name: 'a' }), 2);
  assert.equal(value('edgeport_agent_module_restart_total', { module_name: 'a' }), 1);
  assert.equal(value('edgeport_agent_module_stop_total', { module_name: 'a' }), 1);
  assert.equal(value('edgeport_agent_command_failures_total', { command: 'start' }), 2);
  assert.equal(value('edgeport_agent_deployment_status_code'), 500);
  assert.equal(value('edgeport_agent_modules', { runtime_status: 'running' }), 1);
  assert.equal(value('edgeport_agent_modules', { runtime_status: 'backoff' }), 1, 'b: never started, waiting for its start to be retried');
  await loop.stop();
});

test('a runtime that cannot list gives 500 for that pass; the next pass recovers', async () => {
  const { runtime, source, reporter, loop, advance } = setup();
  source.set(manifestWith({ a: processModule() }));
  await loop.start();
  const list = runtime.list.bind(runtime);
  runtime.list = async () => {
    throw new Error('runtime unavailable');
  };
  await advance(5000);
  assert.deepEqual(reporter.status(), { code: 500, description: 'runtime unavailable' });
  runtime.list = list;
  await advance(5000);
  assert.deepEqual(reporter.status(), { code: 200, description: '' });
  await loop.stop();
});

test('a module deployed stopped and later set running still gets back-off when it crashes', async () => {
  const { runtime, source, loop, advance } = setup();
  source.set(manifestWith({ a: processModule({ status: 'stopped' }) }));
  await loop.start();
  source.set(manifestWith({ a: processModule({ status: 'running' }) }));
  await loop.whenIdle();
  assert.equal(runtime.statusOf('a'), 'running');
  const starts = (): number => runtime.calls.filter((c) => c === 'start a').length;
  const before = starts();
  runtime.crash('a', 1);
  await loop.whenIdle();
  await advance(5000);
  assert.equal(starts(), before, 'not restarted before the 10 s cool-off');
  await advance(5000);
  assert.equal(starts(), before + 1);
  await loop.stop();
});

test('reported document: docker settings with chunked createOptions, no registry passwords, edgeHub embedded', async () => {
  const { source, loop } = setup();
  const createOptions = JSON.stringify({ Env: Array.from({ length: 60 }, (_, i) => `VARIABLE_${i}=some-value-${i}`) });
  source.set(
    manifestWith(
      { p: processModule() },
      {
        runtime: { type: 'docker', settings: { minDockerVersion: 'v1.25', loggingOptions: '', registryCredentials: { acr: { address: 'acr.azurecr.io', username: 'u', password: 'secret' } } } },
        systemModules: {
          edgeAgent: { type: 'docker', settings: { image: 'mcr.microsoft.com/azureiotedge-agent:1.5', createOptions } },
          edgeHub: { type: 'docker', status: 'running', restartPolicy: 'always', settings: { image: 'mcr.microsoft.com/azureiotedge-hub:1.5' } },
        },
      },
    ),
  );
  await loop.start();
  const reported = loop.reported as Record<string, any>; // any: reported JSON
  assert.equal(JSON.stringify(reported).includes('secret'), false, 'no password reported');
  assert.deepEqual(reported['runtime'].settings.registryCredentials, { acr: { address: 'acr.azurecr.io', username: 'u' } });
  const agentSettings = reported['systemModules'].edgeAgent.settings;
  assert.ok(agentSettings.createOptions01 !== undefined, 'long createOptions chunked');
  assert.equal(agentSettings.createOptions.length, 512);
  assert.equal(Object.keys(agentSettings).filter((k) => k.startsWith('createOptions')).map((k) => agentSettings[k]).join(''), createOptions);
  const hub = reported['systemModules'].edgeHub;
  assert.equal(hub.runtimeStatus, 'running');
  assert.equal(hub.version, undefined, 'edgeHub entry omits version (Azure)');
  assert.equal(hub.restartPolicy, 'always');
  assert.equal(reported['systemModules'].edgeAgent.startupOrder, 0);
  await loop.stop();
});
