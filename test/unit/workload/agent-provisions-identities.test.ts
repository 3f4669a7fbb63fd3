import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentSettings } from '../../../application/agent/agent-settings.js';
import { ReconcileDeployment } from '../../../application/agent/reconcile-deployment.js';
import { ModuleIdentityProvider, type ProvisionedModuleIdentity } from '../../../application/ports/module-identity-provider.js';
import { InMemoryModuleStateStore } from '../../../adapters/state/in-memory-module-state-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeModuleRuntime } from '../../support/agent/fake-module-runtime.js';
import { MemoryDeploymentSource, manifestWith, processModule } from '../../support/agent/memory-deployment-source.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';

class RecordingProvider extends ModuleIdentityProvider {
  readonly calls: string[] = [];
  private generation = 0;
  private readonly generations = new Map<string, string>();
  async provision(module: string): Promise<ProvisionedModuleIdentity> {
    this.calls.push(`provision ${module}`);
    if (!this.generations.has(module)) this.generations.set(module, `gen-${module}-${++this.generation}`);
    return { generationId: this.generations.get(module)!, workloadUri: 'unix:///data/sockets/workload.sock', env: { EdgeHubConnectionString: `cs-${module}` } };
  }
  async deprovision(module: string): Promise<void> {
    this.calls.push(`deprovision ${module}`);
    this.generations.delete(module);
  }
}

function setup() {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const runtime = new FakeModuleRuntime(clock);
  const source = new MemoryDeploymentSource();
  const provider = new RecordingProvider();
  const settings = new AgentSettings({ environment: { iothubHostname: 'hub.example', deviceId: 'dev1', gatewayHostname: 'gw', apiVersion: '2022-08-03' } });
  const loop = new ReconcileDeployment(source, runtime, new InMemoryModuleStateStore(), clock, new MemoryLogger(), settings, undefined, undefined, provider);
  return { runtime, source, provider, loop };
}

test('the agent provisions an identity before creating a module and puts IOTEDGE_WORKLOADURI and IOTEDGE_MODULEGENERATIONID in its env', async () => {
  const { runtime, source, provider, loop } = setup();
  source.set(manifestWith({ a: processModule() }));
  await loop.start();
  assert.deepEqual(provider.calls, ['provision a']);
  assert.equal(runtime.envOf('a')?.['IOTEDGE_WORKLOADURI'], 'unix:///data/sockets/workload.sock');
  assert.equal(runtime.envOf('a')?.['IOTEDGE_MODULEGENERATIONID'], 'gen-a-1');
  assert.equal(runtime.envOf('a')?.['IOTEDGE_AUTHSCHEME'], 'sasToken');
  assert.equal(runtime.envOf('a')?.['EdgeHubConnectionString'], 'cs-a', 'extra (legacy) variables are added');
  await loop.stop();
});

test('an updated module keeps its identity; a module removed from the deployment loses it', async () => {
  const { runtime, source, provider, loop } = setup();
  source.set(manifestWith({ a: processModule(), b: processModule() }));
  await loop.start();
  source.set(manifestWith({ a: processModule({ version: '2.0' }) }));
  await loop.whenIdle();
  assert.deepEqual(provider.calls, ['provision a', 'provision b', 'deprovision b', 'provision a']);
  assert.equal(runtime.envOf('a')?.['IOTEDGE_MODULEGENERATIONID'], 'gen-a-1');
  await loop.stop();
});
