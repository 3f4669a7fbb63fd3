import { join } from 'node:path';
import { AgentSettings } from '../../../application/agent/agent-settings.js';
import { ReconcileDeployment } from '../../../application/agent/reconcile-deployment.js';
import { ProcessModuleRuntime } from '../../../adapters/process/process-module-runtime.js';
import { InMemoryModuleStateStore } from '../../../adapters/state/in-memory-module-state-store.js';
import { FakeClock } from '../fake-clock.js';
import { MemoryDeploymentSource } from './memory-deployment-source.js';
import { MemoryLogger } from './memory-logger.js';
import { RecordingReporter } from './recording-reporter.js';

/**
 * The reconcile loop over the real process runtime (logs under `<dir>/<name>`), a deployment the
 * test sets and a fake clock for agent time; `cleanups` gets what stops them.
 */
export function processLoop(dir: string, name: string, cleanups: Array<() => Promise<void>>) {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const logger = new MemoryLogger();
  const runtime = new ProcessModuleRuntime(clock, logger, { logsDir: join(dir, name), stopTimeoutMs: 2000 });
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
