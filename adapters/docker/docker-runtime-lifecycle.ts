import { HostedService, type ListenInfo } from '../../application/ports/hosted-service.js';
import type { DockerModuleRuntime } from './docker-module-runtime.js';

/**
 * Start/stop hooks of the Docker runtime: opens the Docker event stream at start (so exits and
 * health changes reach the reconcile loop) and closes it at shutdown. Containers keep running when
 * the agent stops, as with Azure IoT Edge: the next agent finds them through their labels.
 */
export class DockerRuntimeLifecycle extends HostedService {
  readonly name = 'docker-runtime';

  constructor(private readonly runtime: DockerModuleRuntime) {
    super();
  }

  async start(): Promise<ListenInfo[]> {
    await this.runtime.watchEvents();
    return [];
  }

  async stop(): Promise<void> {
    await this.runtime.close();
  }
}
