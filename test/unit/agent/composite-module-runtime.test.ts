import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompositeModuleRuntime } from '../../../application/agent/composite-module-runtime.js';
import { ModuleNotFoundError, UnsupportedModuleError, type ModuleRuntimeEvent } from '../../../application/ports/module-runtime.js';
import { selectModuleRuntime } from '../../../infrastructure/composition/module-runtime-selection.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeModuleRuntime } from '../../support/agent/fake-module-runtime.js';
import { processSpec } from '../../support/agent/specs.js';
import type { ModuleSpec } from '../../../domain/modules/module-spec.js';

const dockerSpec = (name: string): ModuleSpec => ({ ...processSpec(name), type: 'docker', settings: { kind: 'docker', image: 'x:1', createOptions: {} } });

test('CompositeModuleRuntime: each module on the runtime of its type; a type change moves it; stop/remove everywhere; start/logs at the owner', async () => {
  const clock = new FakeClock(1000);
  const docker = new FakeModuleRuntime(clock);
  const processes = new FakeModuleRuntime(clock);
  const runtime = new CompositeModuleRuntime({ docker, process: processes });
  assert.equal(runtime.kind, 'docker+process');

  await runtime.create(dockerSpec('c'), {});
  await runtime.create(processSpec('p'), { A: '1' });
  assert.deepEqual([...docker.modules.keys()], ['c']);
  assert.deepEqual([...processes.modules.keys()], ['p']);
  assert.deepEqual(processes.envOf('p'), { A: '1' });
  await runtime.start('c');
  await runtime.start('p');
  assert.deepEqual((await runtime.list()).map((m) => [m.name, m.spec.type, m.state.status]), [['c', 'docker', 'running'], ['p', 'process', 'running']]);

  processes.output.set('p', [{ time: 1, stream: 'stdout', text: 'hello' }]);
  const lines: string[] = [];
  for await (const line of runtime.logs('p')) lines.push(line.text);
  assert.deepEqual(lines, ['hello']);
  await assert.rejects(async () => {
    for await (const _ of runtime.logs('nope')) break;
  }, ModuleNotFoundError);
  await assert.rejects(runtime.start('nope'), ModuleNotFoundError);

  const events: ModuleRuntimeEvent[] = [];
  const off = runtime.onEvent((e) => events.push(e));
  docker.crash('c', 1);
  processes.crash('p', 2);
  assert.deepEqual(events.map((e) => [e.module, e.exitCode]), [['c', 1], ['p', 2]]);
  off();
  docker.crash('c', 3);
  assert.equal(events.length, 2, 'unsubscribed from both');

  // p becomes a Docker module: the process is removed before the container is created.
  await runtime.stop('p');
  await runtime.remove('p');
  assert.ok(docker.calls.includes('stop p') && docker.calls.includes('remove p'), 'stop and remove reach every runtime');
  await runtime.create(processSpec('c'), {});
  assert.equal(docker.modules.has('c'), false, 'the container of c is gone');
  assert.equal(processes.modules.get('c')?.spec.type, 'process');

  await assert.rejects(runtime.create({ ...processSpec('z'), type: 'vm' as never }, {}), (e: unknown) => e instanceof UnsupportedModuleError && /this agent runs types "docker" and "process"/.test(e.message));

  // A name left in both (agent stopped mid-way) is listed once.
  await docker.create(dockerSpec('c'), {});
  assert.deepEqual((await runtime.list()).map((m) => `${m.name}:${m.spec.type}`), ['c:docker']);
});

test('selectModuleRuntime: auto is docker+process when Docker answers, process otherwise; explicit choices as given', async () => {
  const agent = { enabled: true, runtime: 'auto' as const, dockerSocket: '/x.sock', manifest: '', dockerInstance: '', registryCredentialsFile: '' };
  assert.equal((await selectModuleRuntime(agent, async () => true)).kind, 'docker+process');
  assert.equal((await selectModuleRuntime(agent, async () => false)).kind, 'process');
  assert.equal((await selectModuleRuntime({ ...agent, runtime: 'docker' }, async () => false)).kind, 'docker');
  assert.equal((await selectModuleRuntime({ ...agent, runtime: 'process' }, async () => true)).kind, 'process');
});
