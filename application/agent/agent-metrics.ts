import { MODULE_RUNTIME_STATUSES } from '../../domain/modules/module-status.js';
import type { Command } from '../../domain/modules/planner.js';
import type { Counter, Gauge, Metrics } from '../ports/metrics.js';

/**
 * The agent's Prometheus series (Azure's `edgeAgent_*` metrics under the `edgeport_agent_` prefix).
 * Without a Metrics binding every call is a no-op.
 */
export class AgentMetrics {
  private readonly starts?: Counter;
  private readonly stops?: Counter;
  private readonly restarts?: Counter;
  private readonly failures?: Counter;
  private readonly passes?: Counter;
  private readonly status?: Gauge;
  private readonly modules?: Gauge;

  constructor(metrics: Metrics | undefined) {
    if (metrics === undefined) return;
    this.starts = metrics.counter('edgeport_agent_module_start_total', 'Module starts issued by the agent (including restarts)');
    this.stops = metrics.counter('edgeport_agent_module_stop_total', 'Module stops issued by the agent (including restarts)');
    this.restarts = metrics.counter('edgeport_agent_module_restart_total', 'Restarts by the restart policy after a cool-off');
    this.failures = metrics.counter('edgeport_agent_command_failures_total', 'Plan commands that failed, by command');
    this.passes = metrics.counter('edgeport_agent_reconcile_total', 'Reconcile passes');
    this.status = metrics.gauge('edgeport_agent_deployment_status_code', 'lastDesiredStatus.code of the $edgeAgent reported properties');
    this.modules = metrics.gauge('edgeport_agent_modules', 'Modules by reported runtime status');
  }

  executed(command: Command): void {
    const labels = { module_name: command.module };
    if (command.kind === 'start' || command.kind === 'restart') this.starts?.inc(labels);
    if (command.kind === 'stop' || command.kind === 'restart') this.stops?.inc(labels);
    if (command.kind === 'restart') this.restarts?.inc(labels);
  }

  failed(command: Command): void {
    this.failures?.inc({ command: command.kind });
  }

  reconciled(code: number, runtimeStatuses: readonly string[]): void {
    this.passes?.inc();
    this.status?.set({}, code);
    if (this.modules === undefined) return;
    for (const status of MODULE_RUNTIME_STATUSES) {
      this.modules.set({ runtime_status: status }, runtimeStatuses.filter((s) => s === status).length);
    }
  }
}
