import { inject, injectable, optional } from 'inversify';
import type { DeploymentConfig } from '../../domain/deployment/agent-desired.js';
import { DeploymentStatusCode, SUCCESSFUL, UNKNOWN_STATUS, type DeploymentStatus } from '../../domain/deployment/deployment-status.js';
import { nextRestartDue, plan } from '../../domain/modules/planner.js';
import { manifestTrustStatus } from '../../domain/trust/manifest-integrity.js';
import { AgentReporter } from '../ports/agent-reporter.js';
import { Clock, type TimerHandle } from '../ports/clock.js';
import { DeploymentSource, type DeploymentSnapshot } from '../ports/deployment-source.js';
import { ManifestVerifier } from '../ports/manifest-verifier.js';
import { HostedService, type ListenInfo } from '../ports/hosted-service.js';
import { Logger } from '../ports/logger.js';
import { Metrics } from '../ports/metrics.js';
import { ModuleIdentityProvider } from '../ports/module-identity-provider.js';
import { ModuleRuntime, type CurrentModule, type ModuleRuntimeEvent } from '../ports/module-runtime.js';
import { ModuleStateStore, type ModuleState } from '../ports/module-state-store.js';
import { AgentMetrics, type ReportedModuleStatus } from './agent-metrics.js';
import { AgentSettings } from './agent-settings.js';
import { ModuleProvisioning } from './module-provisioning.js';
import { describeCommand, PlanRunner, type PlanRunResult } from './plan-runner.js';
import { ReportedStateBuilder, type ReportedDocument } from './reported-state-builder.js';

/** The deployment the agent enforces: the last one that validated. */
interface GoodDeployment {
  version: number;
  config: DeploymentConfig;
}

/** What one reconcile pass did, for tests and the management API. */
export interface ReconcileOutcome {
  status: DeploymentStatus;
  run?: PlanRunResult;
  patch: Record<string, unknown>;
  /** When a module in back-off becomes due; the loop wakes up then. */
  wake?: number;
}

/** Never wake up sooner than this after a pass, even for a due back-off. */
const MIN_WAKE_MS = 10;

/** The deployment as the agent last reported it: `lastDesiredVersion` and `lastDesiredStatus`. */
export interface DeploymentProgress {
  version?: number;
  status: DeploymentStatus;
}

/**
 * The agent's reconcile loop (Azure `Agent.ReconcileAsync`): on every deployment change, every
 * module event and every `reconcileIntervalMs`, read desired and current state, plan, run the plan
 * through the module runtime, and report. An invalid new manifest is reported with its status code
 * while the last good deployment stays in force.
 */
@injectable()
export class ReconcileDeployment extends HostedService {
  readonly name = 'agent';
  private readonly runner: PlanRunner;
  private readonly reporter: ReportedStateBuilder;
  private readonly logger: Logger;
  private readonly metrics: AgentMetrics;
  private good: GoodDeployment | undefined;
  private seenVersion: number | undefined;
  private manifestStatus: DeploymentStatus | undefined;
  private lastStatus: DeploymentStatus = UNKNOWN_STATUS;
  private lastOutcome: ReconcileOutcome | undefined;
  private startedAt = 0;
  private timer: TimerHandle | undefined;
  private unsubscribe: Array<() => void> = [];
  private inFlight: Promise<void> | undefined;
  /** Modules an operator stopped (dashboard, management API): kept stopped until started or a new deployment. */
  private readonly operatorStopped = new Set<string>();
  private again = false;
  private running = false;
  /** Modules being prepared (image pulls) or that could not be created, shown beside the runtime's. */
  private readonly provisioning = new ModuleProvisioning();
  /** Modules with a download in the metrics, to zero their gauges when it is over. */
  private readonly downloadGauges = new Set<string>();
  /** Reports go out one at a time, in order: passes' and the download progress between them. */
  private reporting: Promise<void> = Promise.resolve();
  private progressQueued = false;

  constructor(
    @inject(DeploymentSource) private readonly source: DeploymentSource,
    @inject(ModuleRuntime) private readonly runtime: ModuleRuntime,
    @inject(ModuleStateStore) private readonly stateStore: ModuleStateStore,
    @inject(Clock) private readonly clock: Clock,
    @inject(Logger) logger: Logger,
    @inject(AgentSettings) private readonly settings: AgentSettings,
    @inject(AgentReporter) @optional() private readonly sink?: AgentReporter,
    @inject(Metrics) @optional() metrics?: Metrics,
    @inject(ModuleIdentityProvider) @optional() identities?: ModuleIdentityProvider,
    /** With a manifest trust root configured: only signed deployments that verify are applied. */
    @inject(ManifestVerifier) @optional() private readonly manifestVerifier?: ManifestVerifier,
  ) {
    super();
    this.logger = logger.child({ component: 'agent' });
    this.metrics = new AgentMetrics(metrics);
    this.runner = new PlanRunner(runtime, stateStore, settings, this.logger, this.metrics, identities, this.provisioning);
    this.reporter = new ReportedStateBuilder(settings);
  }

  async start(): Promise<ListenInfo[]> {
    this.running = true;
    this.startedAt = this.clock.now();
    this.unsubscribe.push(this.source.onChange(() => void this.reconcile()));
    this.unsubscribe.push(this.runtime.onEvent((event) => this.onRuntimeEvent(event)));
    await this.source.start();
    await this.reconcile();
    return [];
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
    for (const off of this.unsubscribe.splice(0)) off();
    await this.inFlight;
    await this.serialized(() => this.emit(this.reporter.shutdownPatch()));
    await this.source.stop();
  }

  /** Starts are the agent's own doing; exits and health changes need a look; pulls are shown. */
  private onRuntimeEvent(event: ModuleRuntimeEvent): void {
    if (event.kind === 'downloading') {
      this.provisioning.downloading(event.module, event.image, event.progress);
      this.metrics.download(event.module, event.progress);
      this.downloadGauges.add(event.module);
      this.reportProgress();
      return;
    }
    if (event.kind !== 'started') void this.reconcile();
  }

  /**
   * A report between passes while an image downloads (a pass waits for the pull to end): the
   * modules as listed now, with the download's progress. At most one is queued at a time; the
   * runtime throttles its progress events.
   */
  private reportProgress(): void {
    if (this.progressQueued || !this.running) return;
    this.progressQueued = true;
    void this.serialized(async () => {
      this.progressQueued = false;
      const good = this.good;
      if (good === undefined || !this.running) return;
      const [current, states] = await Promise.all([this.runtime.list(), this.stateStore.getAll()]);
      const document = this.document(this.lastStatus, good, current, states, this.seenVersion);
      const modules = (document['modules'] ?? {}) as Record<string, { runtimeStatus: string }>;
      this.metrics.shown(Object.values(modules).map((m) => m.runtimeStatus));
      await this.emit(this.reporter.patch(document));
    }).catch((error: unknown) => this.logger.warn(`reporting download progress failed: ${(error as Error).message}`));
  }

  /** Runs `task` after every report queued before it. */
  private serialized(task: () => Promise<void>): Promise<void> {
    const run = this.reporting.then(task);
    this.reporting = run.catch(() => undefined);
    return run;
  }

  /**
   * The modules as the agent shows them (reported properties, `edgeport list`): the runtime's, plus
   * desired modules being prepared (`downloading`) or that could not be created (`failed`).
   */
  shown(current: readonly CurrentModule[]): CurrentModule[] {
    return this.provisioning.overlay(this.good?.config.modules ?? [], current);
  }

  /** A module's preparation in progress (an update's download too), if any. */
  preparationOf(module: string): ReturnType<ModuleProvisioning['get']> {
    return this.provisioning.get(module);
  }

  /** `lastDesiredVersion` and `lastDesiredStatus` as last computed (`edgeport deploy --wait`). */
  get deployment(): DeploymentProgress {
    const version = this.reporter.reported['lastDesiredVersion'];
    return typeof version === 'number' ? { version, status: this.lastStatus } : { status: this.lastStatus };
  }

  /** The reported properties as last computed. */
  get reported(): ReportedDocument {
    return this.reporter.reported;
  }

  get status(): DeploymentStatus {
    return this.lastStatus;
  }

  get lastReconcile(): ReconcileOutcome | undefined {
    return this.lastOutcome;
  }

  /**
   * Runs a pass now, or, when one is running, once more after it; resolves when the loop is idle.
   * Passes never overlap.
   */
  reconcile(): Promise<void> {
    if (this.inFlight !== undefined) {
      this.again = true;
      return this.inFlight;
    }
    this.timer?.cancel();
    this.timer = undefined;
    this.inFlight = (async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && this.running);
    })().finally(() => {
      this.inFlight = undefined;
      this.scheduleNext();
    });
    return this.inFlight;
  }

  /**
   * Sets the desired status of deployed module `name` until the next deployment (an operator's
   * stop or start) and reconciles; false when the current deployment has no such module.
   */
  async setOperatorStatus(name: string, status: 'running' | 'stopped'): Promise<boolean> {
    if (this.good?.config.modules.some((m) => m.name === name) !== true) return false;
    if (status === 'stopped') this.operatorStopped.add(name);
    else this.operatorStopped.delete(name);
    await this.reconcile();
    return true;
  }

  /** The deployment with the operator's stops applied (desired status `stopped`). */
  private withOperatorStops(good: GoodDeployment | undefined): GoodDeployment | undefined {
    if (good === undefined || this.operatorStopped.size === 0) return good;
    const modules = good.config.modules.map((m) => (this.operatorStopped.has(m.name) ? { ...m, status: 'stopped' as const } : m));
    return { version: good.version, config: { ...good.config, modules } };
  }

  /** Resolves once no pass is running. */
  async whenIdle(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
  }

  private scheduleNext(): void {
    if (!this.running) return;
    let delay = this.settings.reconcileIntervalMs;
    const good = this.good;
    const outcome = this.lastOutcome;
    if (good !== undefined && outcome?.wake !== undefined) delay = Math.max(MIN_WAKE_MS, Math.min(delay, outcome.wake - this.clock.now()));
    this.timer?.cancel();
    this.timer = this.clock.schedule(delay, () => {
      this.timer = undefined;
      void this.reconcile();
    });
  }

  private takeSnapshot(snapshot: DeploymentSnapshot | undefined): void {
    if (snapshot === undefined || snapshot.version === this.seenVersion) return;
    this.seenVersion = snapshot.version;
    const agent = snapshot.deployment.agent;
    if (agent.ok) {
      const verifier = this.manifestVerifier;
      const refusal = manifestTrustStatus(verifier !== undefined, snapshot.deployment.agentIntegrity, (integrity) => (verifier === undefined ? 'no manifest trust root' : verifier.verify(integrity)));
      if (refusal !== undefined) {
        this.manifestStatus = refusal;
        this.logger.warn(`deployment version ${snapshot.version} refused (${refusal.code}): ${refusal.description}`, { version: snapshot.version, code: refusal.code, kept: this.good?.version });
        return;
      }
      this.good = { version: snapshot.version, config: agent.value };
      this.operatorStopped.clear();
      this.manifestStatus = undefined;
      this.logger.info(`deployment version ${snapshot.version} accepted`, { version: snapshot.version, modules: agent.value.modules.length });
    } else {
      this.manifestStatus = agent.status;
      this.logger.warn(`deployment version ${snapshot.version} rejected (${agent.status.code}): ${agent.status.description}`, {
        version: snapshot.version,
        code: agent.status.code,
        kept: this.good?.version,
      });
    }
  }

  private async pass(): Promise<void> {
    const snapshot = this.source.current();
    this.takeSnapshot(snapshot);
    let status: DeploymentStatus = this.manifestStatus ?? (snapshot === undefined ? UNKNOWN_STATUS : SUCCESSFUL);
    let run: PlanRunResult | undefined;
    let wake: number | undefined;
    try {
      const good = this.withOperatorStops(this.good);
      if (good !== undefined) {
        const [current, states] = await Promise.all([this.runtime.list(), this.stateStore.getAll()]);
        const desired = good.config.modules;
        const now = this.clock.now();
        const commands = plan(desired, current, states, now, this.settings.restartPolicy);
        if (commands.length > 0) {
          this.logger.debug(`plan: ${commands.map(describeCommand).join(', ')}`, { version: good.version });
          run = await this.runner.run(commands, good.version, () => this.clock.now());
        }
        // A rejected newer manifest keeps its code (the user must fix it) even if the kept
        // deployment has failing commands; those are logged and counted in metrics.
        if (run !== undefined && run.failures.length > 0 && this.manifestStatus === undefined) {
          status = {
            code: DeploymentStatusCode.Failed,
            description: run.failures.map((f) => `${describeCommand(f.command)}: ${f.error.message}`).join('; '),
          };
        } else if (run !== undefined && run.skipped.length > 0 && this.manifestStatus === undefined) {
          // Azure leaves the status unchanged while commands wait in back-off.
          status = this.lastStatus.code === DeploymentStatusCode.Unknown ? SUCCESSFUL : this.lastStatus;
        }
        const [after, statesAfter] = await Promise.all([this.runtime.list(), this.stateStore.getAll()]);
        wake = nextRestartDue(desired, after, statesAfter, this.clock.now(), this.settings.restartPolicy);
        await this.report(status, good, after, statesAfter, snapshot?.version, run, wake);
        return;
      }
      const current = await this.runtime.list();
      await this.report(status, undefined, current, await this.stateStore.getAll(), snapshot?.version, run, wake);
    } catch (error) {
      status = { code: DeploymentStatusCode.Failed, description: (error as Error).message };
      this.logger.error(`reconcile failed: ${(error as Error).message}`);
      await this.serialized(async () => {
        const patch = this.reporter.patch({ ...this.reporter.reported, lastDesiredStatus: status, ...(snapshot === undefined ? {} : { lastDesiredVersion: snapshot.version }) });
        this.lastStatus = status;
        this.lastOutcome = { status, patch };
        await this.emit(patch);
      });
    }
  }

  private document(
    status: DeploymentStatus,
    good: GoodDeployment | undefined,
    current: readonly CurrentModule[],
    states: ReadonlyMap<string, ModuleState>,
    desiredVersion: number | undefined,
  ): ReportedDocument {
    return this.reporter.build({
      desiredVersion,
      status,
      config: good?.config,
      current: this.provisioning.overlay(good?.config.modules ?? [], current),
      states,
      agentStartedAt: this.startedAt,
      runtimeKind: this.runtime.kind,
    });
  }

  /** Zeroes the download gauges of modules no longer downloading. */
  private settleDownloadGauges(): void {
    for (const module of [...this.downloadGauges]) {
      if (this.provisioning.get(module)?.phase === 'downloading') continue;
      this.metrics.download(module, undefined);
      this.downloadGauges.delete(module);
    }
  }

  private async report(
    status: DeploymentStatus,
    good: GoodDeployment | undefined,
    current: readonly CurrentModule[],
    states: ReadonlyMap<string, ModuleState>,
    desiredVersion: number | undefined,
    run: PlanRunResult | undefined,
    wake: number | undefined,
  ): Promise<void> {
    this.settleDownloadGauges();
    await this.serialized(async () => {
      const document = this.document(status, good, current, states, desiredVersion);
      const patch = this.reporter.patch(document);
      const modules = (document['modules'] ?? {}) as Record<string, ReportedModuleStatus>;
      const systemModules = (document['systemModules'] ?? {}) as Record<string, ReportedModuleStatus>;
      this.metrics.reconciled(status.code, modules, systemModules, this.clock.now());
      this.lastStatus = status;
      this.lastOutcome = { status, patch };
      if (run !== undefined) this.lastOutcome.run = run;
      if (wake !== undefined) this.lastOutcome.wake = wake;
      await this.emit(patch);
    });
  }

  private async emit(patch: Record<string, unknown>): Promise<void> {
    if (Object.keys(patch).length === 0 || this.sink === undefined) return;
    try {
      await this.sink.report(patch);
    } catch (error) {
      this.logger.warn(`reporting the agent state failed: ${(error as Error).message}`);
    }
  }
}
