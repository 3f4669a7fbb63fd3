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
import { storageModule } from '../../../infrastructure/composition/storage-module.js';
import { MemoryLogger } from './memory-logger.js';

export interface FileAgent {
  readonly container: Container;
  /** The hosted services, started in this order. */
  readonly services: HostedService[];
  readonly runtime: ModuleRuntime;
  readonly agent: ReconcileDeployment;
  /** Stops the services in reverse order. */
  stop(): Promise<void>;
}

/**
 * The agent as the composition root wires it without the hub: SQLite storage in `dir`, the file
 * deployment source on `manifestPath` (polled every 100 ms), the process runtime, a 200 ms
 * reconcile interval; every hosted service started.
 */
export async function startFileAgent(dir: string, manifestPath: string): Promise<FileAgent> {
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(Clock).to(SystemClock);
  container.bind(Logger).toConstantValue(new MemoryLogger());
  container.load(storageModule({ kind: 'sqlite', path: join(dir, 'edgeport.db') }));
  container.load(deploymentModule({ manifestPath, manifestPollIntervalMs: 100 }));
  container.load(agentModule({ runtime: 'process', logsDir: join(dir, 'logs'), settings: { reconcileIntervalMs: 200 } }));
  const services = container.getAll(HostedService);
  for (const service of services) await service.start();
  return {
    container,
    services,
    runtime: container.get(ModuleRuntime),
    agent: container.get(ReconcileDeployment),
    async stop() {
      for (const service of [...services].reverse()) await service.stop();
    },
  };
}
