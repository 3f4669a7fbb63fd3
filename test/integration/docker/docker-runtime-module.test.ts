import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Container } from 'inversify';
import { AgentSettings } from '../../../application/agent/agent-settings.js';
import { Clock } from '../../../application/ports/clock.js';
import { HostedService } from '../../../application/ports/hosted-service.js';
import { Logger } from '../../../application/ports/logger.js';
import { ModuleRuntime } from '../../../application/ports/module-runtime.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { DockerModuleRuntime } from '../../../adapters/docker/docker-module-runtime.js';
import { dockerRuntimeModule } from '../../../infrastructure/composition/docker-runtime-module.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { SERVICES, skipUnless } from '../../support/services.js';

test('dockerRuntimeModule binds ModuleRuntime to the Docker runtime and its lifecycle as a hosted service', { skip: await skipUnless('docker'), timeout: 15_000 }, async () => {
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(Clock).to(SystemClock);
  container.bind(Logger).toConstantValue(new MemoryLogger());
  container.bind(AgentSettings).toConstantValue(new AgentSettings({ stopTimeoutMs: 1000 }));
  container.load(dockerRuntimeModule({ socketPath: SERVICES.docker.socketPath, defaultNetworkMode: 'none' }));

  const runtime = container.get(ModuleRuntime);
  assert.ok(runtime instanceof DockerModuleRuntime);
  assert.equal(runtime.kind, 'docker');
  assert.equal(container.get(DockerModuleRuntime), runtime, 'one runtime');
  const services = container.getAll(HostedService);
  assert.deepEqual(services.map((s) => s.name), ['docker-runtime']);
  for (const service of services) await service.start();
  assert.ok(Array.isArray(await runtime.list()));
  for (const service of services.reverse()) await service.stop();
});
