import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { manifestWith, processModule } from '../../support/agent/memory-deployment-source.js';
import { isAlive, SCRIPTS, tempDir, until } from '../../support/agent/process-fixtures.js';
import { processLoop } from '../../support/agent/process-loop.js';

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
  return processLoop(temp.dir, name, cleanups);
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
