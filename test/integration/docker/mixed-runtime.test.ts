import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Container } from 'inversify';
import { ReconcileDeployment } from '../../../application/agent/reconcile-deployment.js';
import { Clock } from '../../../application/ports/clock.js';
import { HostedService } from '../../../application/ports/hosted-service.js';
import { Logger } from '../../../application/ports/logger.js';
import { ModuleRuntime } from '../../../application/ports/module-runtime.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { agentModule } from '../../../infrastructure/composition/agent-module.js';
import { deploymentModule } from '../../../infrastructure/composition/deployment-module.js';
import { DockerModuleRuntime, dockerRuntimeModule } from '../../../infrastructure/composition/docker-runtime-module.js';
import { storageModule } from '../../../infrastructure/composition/storage-module.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { manifestWith, processModule } from '../../support/agent/memory-deployment-source.js';
import { SCRIPTS, tempDir } from '../../support/agent/process-fixtures.js';
import { TEST_LABEL, buildBusyboxImage, cleanupDocker, dockerClient, dockerModule, newRunId, until } from '../../support/docker/docker-fixtures.js';
import { SERVICES, skipUnless } from '../../support/services.js';

const skip = await skipUnless('docker');
const runId = newRunId();
const image = `edgeport-test/busybox:${runId}`;
const docker = dockerClient();
const temp = tempDir('mixed-runtime');

after(async () => {
  if (skip === false) await cleanupDocker(docker, runId, [image]);
  temp.cleanup();
});

test('agent.runtime "auto" with Docker (docker+process): one deployment runs a container and a process; a type change moves the module', { skip, timeout: 60_000 }, async () => {
  await buildBusyboxImage(docker, image, runId);
  const manifestPath = join(temp.dir, 'deployment.json');
  const idle = processModule({}, { command: process.execPath, args: ['-e', SCRIPTS.idle] });
  writeFileSync(manifestPath, JSON.stringify(manifestWith({ box: dockerModule(image, 'exec sleep 600'), proc: idle })));
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(Clock).to(SystemClock);
  container.bind(Logger).toConstantValue(new MemoryLogger());
  container.load(storageModule({ kind: 'sqlite', path: join(temp.dir, 'edgeport.db') }));
  container.load(deploymentModule({ manifestPath, manifestPollIntervalMs: 100 }));
  container.load(
    dockerRuntimeModule({ socketPath: SERVICES.docker.socketPath, defaultNetworkMode: 'none', labels: { [TEST_LABEL]: runId }, namePrefix: `ep-${runId}-`, bindModuleRuntime: false }),
  );
  container.load(agentModule({ runtime: 'docker+process', dockerRuntime: DockerModuleRuntime, logsDir: join(temp.dir, 'logs'), settings: { reconcileIntervalMs: 200, stopTimeoutMs: 1000 } }));

  const services = container.getAll(HostedService);
  assert.deepEqual(services.map((s) => s.name), ['storage', 'docker-runtime', 'process-runtime', 'agent']);
  for (const service of services) await service.start();
  const runtime = container.get(ModuleRuntime);
  try {
    assert.equal(runtime.kind, 'docker+process');
    await until(async () => (await runtime.list()).filter((m) => m.state.status === 'running').length === 2, 20_000, 'both modules running');
    const modules = await runtime.list();
    assert.deepEqual(modules.map((m) => [m.name, m.spec.type]), [['box', 'docker'], ['proc', 'process']]);
    assert.equal((await docker.getContainer(`ep-${runId}-box`).inspect()).State.Running, true);
    assert.ok(Number(modules[1]!.state.id) > 0, 'proc is a process (its id is the pid)');
    assert.deepEqual(container.get(ReconcileDeployment).status, { code: 200, description: '' });

    // box becomes a process module: the container goes, the process comes.
    writeFileSync(manifestPath, JSON.stringify(manifestWith({ box: idle, proc: idle })));
    await until(async () => (await runtime.list()).every((m) => m.spec.type === 'process' && m.state.status === 'running'), 20_000, 'box running as a process');
    assert.equal((await docker.listContainers({ all: true, filters: { label: [`${TEST_LABEL}=${runId}`] } })).length, 0, 'the container was removed');
  } finally {
    for (const service of [...services].reverse()) await service.stop();
  }
});
