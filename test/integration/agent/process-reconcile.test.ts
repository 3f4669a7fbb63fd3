import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AgentSettings } from '../../../application/agent/agent-settings.js';
import { ReconcileDeployment } from '../../../application/agent/reconcile-deployment.js';
import { ProcessModuleRuntime } from '../../../adapters/process/process-module-runtime.js';
import { InMemoryModuleStateStore } from '../../../adapters/state/in-memory-module-state-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { MemoryDeploymentSource, manifestWith, processModule } from '../../support/agent/memory-deployment-source.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { isAlive, SCRIPTS, tempDir, until } from '../../support/agent/process-fixtures.js';
import { RecordingReporter } from '../../support/agent/recording-reporter.js';

const temp = tempDir('process-reconcile');
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups) await cleanup();
  temp.cleanup();
});

function nodeProcess(script: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return processModule(overrides, { command: process.execPath, args: ['-e', script] });
}

function setup(name: string) {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const logger = new MemoryLogger();
  const runtime = new ProcessModuleRuntime(clock, logger, { logsDir: join(temp.dir, name), stopTimeoutMs: 2000 });
  const source = new MemoryDeploymentSource();
  const reporter = new RecordingReporter();
  const loop = new ReconcileDeployment(source, runtime, new InMemoryModuleStateStore(), clock, logger, new AgentSettings({ stopTimeoutMs: 2000 }), reporter);
  cleanups.push(async () => {
    await loop.stop();
    await runtime.shutdown(1000);
  });
  const stateOf = async (module: string) => (await runtime.list()).find((m) => m.name === module)?.state;
  /** Moves agent time in 1 s steps, letting each pass it triggers finish. */
  const advance = async (ms: number): Promise<void> => {
    for (let left = ms; left > 0; left -= 1000) {
      clock.advance(Math.min(1000, left));
      await loop.whenIdle();
    }
  };
  return { clock, runtime, source, reporter, loop, stateOf, advance };
}

test('a crash-looping process module is restarted with back-off (10, 20, 40 s of agent time) through the reconcile loop', { timeout: 30_000 }, async () => {
  const { runtime, source, reporter, loop, stateOf, advance } = setup('crashloop');
  source.set(manifestWith({ crashy: nodeProcess(SCRIPTS.crash(2), { restartPolicy: 'on-failure' }), steady: nodeProcess(SCRIPTS.idle) }));
  await loop.start();
  const steadyPid = Number((await stateOf('steady'))?.id);
  assert.ok(isAlive(steadyPid));

  const pids = new Set<string>();
  for (const [restart, coolOffSeconds] of [[1, 10], [2, 20], [3, 40]] as const) {
    await until(async () => (await stateOf('crashy'))?.status === 'failed', 5000, `crash before restart ${restart}`);
    await loop.whenIdle(); // the exit event triggered a pass
    pids.add(String((await stateOf('crashy'))?.id));
    assert.equal(reporter.module('crashy')?.['runtimeStatus'], 'backoff');
    assert.equal(reporter.module('crashy')?.['exitCode'], 2);
    assert.equal(reporter.module('crashy')?.['restartCount'], restart - 1);
    await advance(coolOffSeconds * 1000 - 1000);
    assert.equal((await stateOf('crashy'))?.status, 'failed', `still in back-off 1 s before ${coolOffSeconds} s`);
    await advance(1000);
    assert.equal(reporter.module('crashy')?.['restartCount'], restart, `restart ${restart} after ${coolOffSeconds} s`);
  }
  await until(async () => (await stateOf('crashy'))?.status === 'failed', 5000, 'last crash');
  pids.add(String((await stateOf('crashy'))?.id));
  assert.equal(pids.size, 4, 'each restart is a new process');
  assert.equal((await stateOf('steady'))?.id, String(steadyPid), 'the healthy module was never touched');
  assert.deepEqual(reporter.status(), { code: 200, description: '' });
  const logs: string[] = [];
  for await (const line of runtime.logs('crashy')) logs.push(line.text);
  assert.equal(logs.filter((l) => l === 'boom').length, 4, 'output of every run kept');
});

test('bad manifests yield 400, 412 and 417 while the previous process modules keep running', { timeout: 30_000 }, async () => {
  const { source, reporter, loop, stateOf, runtime } = setup('bad-manifests');
  source.set(manifestWith({ web: nodeProcess(SCRIPTS.idle), worker: nodeProcess(SCRIPTS.idle) }));
  await loop.start();
  const pids = [Number((await stateOf('web'))?.id), Number((await stateOf('worker'))?.id)];
  assert.ok(pids.every(isAlive));

  const bad: Array<[unknown, number]> = [
    [manifestWith({ web: nodeProcess(SCRIPTS.idle, { restartPolicy: 'sometimes' }) }), 400],
    [{ modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion: '1.2', modules: {} } } } }, 412],
    [{ modulesContent: {} }, 417],
  ];
  for (const [manifest, code] of bad) {
    source.set(manifest);
    await loop.whenIdle();
    assert.equal(reporter.status().code, code);
    assert.ok(pids.every(isAlive), `modules still running after a ${code} manifest`);
    assert.deepEqual([(await stateOf('web'))?.id, (await stateOf('worker'))?.id], pids.map(String));
    assert.equal(reporter.module('web')?.['runtimeStatus'], 'running');
  }
  // A good manifest again: worker removed, web untouched.
  source.set(manifestWith({ web: nodeProcess(SCRIPTS.idle) }));
  await loop.whenIdle();
  assert.deepEqual(reporter.status(), { code: 200, description: '' });
  assert.equal(isAlive(pids[0] as number), true);
  await until(() => !isAlive(pids[1] as number), 3000, 'worker stopped');
  assert.deepEqual((await runtime.list()).map((m) => m.name), ['web']);
  assert.equal(reporter.module('worker'), undefined);
});

test('docker modules on the process runtime: 500 naming the module and the fix; process modules still run', { timeout: 15_000 }, async () => {
  const { source, reporter, loop, stateOf } = setup('docker-on-process');
  source.set(manifestWith({ app: nodeProcess(SCRIPTS.idle), sensor: { type: 'docker', status: 'running', settings: { image: 'mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5' } } }));
  await loop.start();
  assert.equal(reporter.status().code, 500);
  assert.match(reporter.status().description, /^create sensor: module "sensor" has type "docker"; the process runtime runs only type "process" modules/);
  assert.equal((await stateOf('app'))?.status, 'running');
});
