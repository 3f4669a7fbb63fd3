import { mkdir } from 'node:fs/promises';
import { HostedService, type ListenInfo } from '../../application/ports/hosted-service.js';
import type { ProcessModuleRuntime } from './process-module-runtime.js';

/**
 * Start/stop hooks of the process runtime: creates the logs directory and stops module processes
 * an earlier agent left running; on shutdown stops every module so no child outlives the agent. Bound before the reconcile loop, so it stops after it.
 */
export class ProcessRuntimeLifecycle extends HostedService {
  readonly name = 'process-runtime';

  constructor(
    private readonly runtime: ProcessModuleRuntime,
    private readonly logsDir: string,
  ) {
    super();
  }

  async start(): Promise<ListenInfo[]> {
    await mkdir(this.logsDir, { recursive: true });
    await this.runtime.reapOrphans();
    return [];
  }

  async stop(): Promise<void> {
    await this.runtime.shutdown();
  }
}
