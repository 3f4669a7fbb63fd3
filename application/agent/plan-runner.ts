import { canonicalJson } from '../../domain/modules/module-spec.js';
import type { Command } from '../../domain/modules/planner.js';
import { moduleEnvironment } from '../../domain/modules/module-environment.js';
import type { Logger } from '../ports/logger.js';
import type { ModuleIdentityProvider } from '../ports/module-identity-provider.js';
import type { ModuleRuntime } from '../ports/module-runtime.js';
import type { ModuleStateStore } from '../ports/module-state-store.js';
import type { AgentMetrics } from './agent-metrics.js';
import type { AgentSettings } from './agent-settings.js';
import type { ModuleProvisioning } from './module-provisioning.js';

export interface CommandFailure {
  command: Command;
  error: Error;
}

export interface PlanRunResult {
  executed: Command[];
  failures: CommandFailure[];
  /** Commands not run: in back-off after earlier failures, or after a failure of the same module. */
  skipped: Command[];
}

interface CommandStats {
  runs: number;
  lastRun: number;
}

/** One line per command for logs and errors, e.g. `restart sensor (#3)`. */
export function describeCommand(command: Command): string {
  return command.kind === 'restart' ? `restart ${command.module} (#${command.restartCount})` : `${command.kind} ${command.module}`;
}

/** A failed command is identified by what it does; a changed spec is a new command. */
function commandKey(command: Command): string {
  return command.kind === 'create' || command.kind === 'prepare' ? `${command.kind}:${command.module}:${canonicalJson(command.spec)}` : `${command.kind}:${command.module}`;
}

/**
 * Executes plans (Azure `OrderedRetryPlanRunner`): commands run in plan order; a failing command
 * is retried on later runs after `unit * 2^(failures-1)` and given up after `maxRuns` failures
 * (the restart back-off's schedule by default: 10 s, 20 s, ... 300 s, 20 times),
 * until the deployment changes. Once a command of a module fails or waits, the module's later
 * commands in the same plan are skipped (a `start` after a failed `create` cannot work).
 */
export class PlanRunner {
  private stats = new Map<string, CommandStats>();
  private deploymentId: number | undefined;

  constructor(
    private readonly runtime: ModuleRuntime,
    private readonly stateStore: ModuleStateStore,
    private readonly settings: AgentSettings,
    private readonly logger: Logger,
    private readonly metrics?: AgentMetrics,
    /** Creates module identities (workload API); without it modules get no credentials. */
    private readonly identities?: ModuleIdentityProvider,
    /** Told when preparing or creating a module fails (and when it succeeds), to show it. */
    private readonly provisioning?: ModuleProvisioning,
  ) {}

  /** When a command that failed `runs` times in a row may run again; undefined: given up. */
  private retryAt(runs: number, lastRun: number): number | undefined {
    const retry = this.settings.commandRetry;
    if (runs >= retry.maxRuns) return undefined;
    return lastRun + Math.min(retry.coolOffUnitMs * 2 ** (runs - 1), retry.maxCoolOffMs);
  }

  async run(commands: readonly Command[], deploymentId: number, now: () => number): Promise<PlanRunResult> {
    if (deploymentId !== this.deploymentId) {
      this.stats.clear();
      this.deploymentId = deploymentId;
    }
    const result: PlanRunResult = { executed: [], failures: [], skipped: [] };
    const blocked = new Set<string>();
    for (const command of commands) {
      if (blocked.has(command.module)) {
        result.skipped.push(command);
        continue;
      }
      const key = commandKey(command);
      const stats = this.stats.get(key);
      if (stats !== undefined) {
        const due = this.retryAt(stats.runs, stats.lastRun);
        if (due === undefined || now() < due) {
          result.skipped.push(command);
          blocked.add(command.module);
          continue;
        }
      }
      try {
        await this.execute(command, now);
        this.stats.delete(key);
        if (command.kind === 'prepare' || command.kind === 'create') this.provisioning?.clear(command.module);
        result.executed.push(command);
        this.metrics?.executed(command);
        this.logger.info(`executed ${describeCommand(command)}`, { module: command.module, command: command.kind, reason: command.reason });
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error));
        const runs = (stats?.runs ?? 0) + 1;
        const lastRun = now();
        this.stats.set(key, { runs, lastRun });
        if (command.kind === 'prepare' || command.kind === 'create') this.provisioning?.failed(command.module, err, this.retryAt(runs, lastRun));
        result.failures.push({ command, error: err });
        this.metrics?.failed(command, err);
        blocked.add(command.module);
        this.logger.warn(`${describeCommand(command)} failed (attempt ${runs}): ${err.message}`, { module: command.module, command: command.kind });
      }
    }
    return result;
  }

  private async execute(command: Command, now: () => number): Promise<void> {
    switch (command.kind) {
      case 'prepare':
        await this.runtime.prepare(command.spec);
        return;
      case 'create': {
        let environment = this.settings.environment;
        let extra: Readonly<Record<string, string>> = {};
        if (this.identities !== undefined) {
          const identity = await this.identities.provision(command.module);
          environment = { ...environment, workloadUri: identity.workloadUri, generationIds: { ...environment.generationIds, [command.module]: identity.generationId } };
          extra = identity.env ?? {};
        }
        await this.runtime.create(command.spec, { ...moduleEnvironment(command.spec, environment), ...extra });
        return;
      }
      case 'start':
        await this.runtime.start(command.module);
        return;
      case 'stop':
        await this.runtime.stop(command.module, this.settings.stopTimeoutMs);
        return;
      case 'remove':
        await this.runtime.remove(command.module);
        // An update or a dead module is re-created with the same identity; only leaving the deployment removes it.
        if (command.reason === 'removed') await this.identities?.deprovision(command.module);
        return;
      case 'restart': {
        // Stop then start rather than a runtime restart (Azure does the same); the count is
        // recorded only once the module is started again.
        await this.runtime.stop(command.module, this.settings.stopTimeoutMs);
        await this.runtime.start(command.module);
        const time = now();
        await this.stateStore.put(command.module, { restartCount: command.restartCount, lastRestartTime: time, lastStartTime: time });
        return;
      }
      case 'clear-state':
        await this.stateStore.delete(command.module);
        return;
    }
  }
}
