import { inject, injectable, optional } from 'inversify';
import { formatIdentity, parseIdentity } from '../../domain/identity/identity.js';
import type { RouteSpec } from '../../domain/routing/index.js';
import { DEFAULT_ROUTE_PRIORITY } from '../../domain/routing/index.js';
import type { TwinSection } from '../../domain/twins/twin-document.js';
import type { JsonObject } from '../../domain/twins/json.js';
import { ManagementError, ModuleManagement } from '../agent/module-management.js';
import { ReconcileDeployment } from '../agent/reconcile-deployment.js';
import { PIPELINE_METRICS, PipelineMetrics, priorityLabel } from '../hub/pipeline-metrics.js';
import { RouteConfig } from '../hub/route-config.js';
import { TwinService } from '../hub/twin-service.js';
import { Clock, type TimerHandle } from '../ports/clock.js';
import { HostedService, type ListenInfo } from '../ports/hosted-service.js';
import { IdentityStore } from '../ports/identity-store.js';
import { MessageStore } from '../ports/message-store.js';
import type { LogLine } from '../ports/module-runtime.js';
import { Metrics, type MetricSample } from '../ports/metrics.js';
import { ClientActivity } from './client-activity.js';
import { ObserveError } from './observe-error.js';
import { RateHistory } from './rate-history.js';
import type { ClientView, DeploymentView, ModuleView, QueueView, RouteView, RuntimeView, StatusView, TwinView, UpstreamView } from './read-model-views.js';
import { UpstreamActivity } from './upstream-activity.js';

/** Who this runtime is (bound by the composition root). */
export class RuntimeInfo {
  constructor(
    readonly deviceId: string,
    readonly version: string,
    readonly roles: { hub: boolean; agent: boolean },
  ) {}
}

/** How often the counters are sampled for rates. */
export const SAMPLE_INTERVAL_MS = 1_000;

const queueKey = (endpoint: string, priority: string | number): string => `${endpoint}\u0000${priority}`;

/** Totals of the counters the rates are computed from, keyed `r:` route, `i:`/`o:` queue in/out, `ci:`/`co:` client in/out. */
function totalsOf(samples: readonly MetricSample[]): Map<string, number> {
  const totals = new Map<string, number>();
  const add = (key: string, value: number): void => void totals.set(key, (totals.get(key) ?? 0) + value);
  for (const s of samples) {
    const l = s.labels;
    switch (s.name) {
      case PIPELINE_METRICS.routeMessages:
        add(`r:${l['route'] ?? ''}`, s.value);
        break;
      case PIPELINE_METRICS.enqueued:
        add(`i:${queueKey(l['endpoint'] ?? '', l['priority'] ?? '')}`, s.value);
        break;
      case PIPELINE_METRICS.sent:
        add(`o:${queueKey(l['endpoint'] ?? '', l['priority'] ?? '')}`, s.value);
        break;
      case PIPELINE_METRICS.azureReceived:
        add(`ci:${l['id'] ?? ''}`, s.value);
        break;
      case PIPELINE_METRICS.azureSent:
        add(`co:${l['to'] ?? ''}`, s.value);
        break;
    }
  }
  return totals;
}

function routeParts(spec: RouteSpec): { route: string; priority: number; timeToLiveSecs: number } {
  if (typeof spec === 'string') return { route: spec, priority: DEFAULT_ROUTE_PRIORITY, timeToLiveSecs: 0 };
  return { route: spec.route, priority: spec.priority ?? DEFAULT_ROUTE_PRIORITY, timeToLiveSecs: spec.timeToLiveSecs ?? 0 };
}

function sectionJson(section: TwinSection): JsonObject {
  return { ...section.properties, $version: section.$version };
}

/**
 * The runtime as an operator wants to see it, answered from the running services: modules,
 * deployment, routes, queues, clients, twins, upstream. It stays off the message path: the pipeline
 * only increments counters (`PipelineMetrics`); this service samples them once a second into a
 * one-minute history (`RateHistory`) and computes rates from it when asked. Everything but the clock
 * and the metrics is optional, so it answers for a hub-only or agent-only runtime too.
 */
@injectable()
export class RuntimeReadModel extends HostedService {
  readonly name = 'read-model';
  private readonly history = new RateHistory();
  private timer: TimerHandle | undefined;
  private startedAt = 0;

  constructor(
    @inject(Clock) private readonly clock: Clock,
    @inject(Metrics) private readonly metrics: Metrics,
    @inject(RuntimeInfo) private readonly info: RuntimeInfo,
    @inject(ModuleManagement) @optional() private readonly management?: ModuleManagement,
    @inject(ReconcileDeployment) @optional() private readonly agent?: ReconcileDeployment,
    @inject(RouteConfig) @optional() private readonly routeConfig?: RouteConfig,
    @inject(MessageStore) @optional() private readonly store?: MessageStore,
    @inject(PipelineMetrics) @optional() private readonly pipeline?: PipelineMetrics,
    @inject(ClientActivity) @optional() private readonly clientActivity?: ClientActivity,
    @inject(TwinService) @optional() private readonly twins?: TwinService,
    @inject(IdentityStore) @optional() private readonly identities?: IdentityStore,
    @inject(UpstreamActivity) @optional() private readonly upstreamActivity?: UpstreamActivity,
  ) {
    super();
  }

  async start(): Promise<ListenInfo[]> {
    if (this.timer !== undefined) return [];
    this.startedAt = this.clock.now();
    this.sample();
    this.schedule();
    return [];
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Takes a sample of the counters now (the timer does it every second). */
  sample(): void {
    this.history.add(this.clock.now(), totalsOf(this.metrics.snapshot()));
  }

  runtime(): RuntimeView {
    return {
      deviceId: this.info.deviceId,
      version: this.info.version,
      startedAt: this.startedAt,
      now: this.clock.now(),
      hub: this.info.roles.hub,
      agent: this.info.roles.agent,
      standalone: this.upstreamActivity === undefined,
    };
  }

  async status(): Promise<StatusView> {
    const [modules, queues] = await Promise.all([this.management === undefined ? [] : this.modules(), this.queues()]);
    const view: StatusView = { runtime: this.runtime(), modules, queues, routes: this.routes(), clients: this.clients() };
    const deployment = this.deployment();
    if (deployment !== undefined) view.deployment = deployment;
    const upstream = this.upstream();
    if (upstream !== undefined) view.upstream = upstream;
    return view;
  }

  async modules(): Promise<ModuleView[]> {
    if (this.management === undefined) throw new ObserveError(503, 'the edge agent is not running in this runtime (started with --only hub or agent.enabled = false)');
    const now = this.clock.now();
    return (await this.management.list()).map((row) => {
      const view: ModuleView = { ...row };
      if (row.status === 'running' && row.startedAt !== undefined) view.uptimeSeconds = Math.max(0, Math.floor((now - row.startedAt) / 1000));
      return view;
    });
  }

  /** A module's log lines: the last `tail`, then, with `follow`, new ones until `signal` aborts. */
  async moduleLogs(name: string, tail: number, follow: boolean, signal: AbortSignal): Promise<AsyncIterable<LogLine>> {
    if (this.management === undefined) throw new ObserveError(503, 'the edge agent is not running in this runtime');
    try {
      return await this.management.logs(name, { tail, follow, signal });
    } catch (error) {
      if (error instanceof ManagementError) throw new ObserveError(error.status === 404 ? 404 : 400, error.message);
      throw error;
    }
  }

  deployment(): DeploymentView | undefined {
    if (this.agent === undefined) return undefined;
    const status = this.agent.status;
    const view: DeploymentView = { code: status.code, description: status.description };
    const version = this.agent.reported['lastDesiredVersion'];
    if (typeof version === 'number') view.version = version;
    return view;
  }

  routes(): RouteView[] {
    if (this.routeConfig === undefined) return [];
    return Object.entries(this.routeConfig.specs).map(([name, spec]) => {
      const parts = routeParts(spec);
      const key = `r:${name}`;
      return {
        name,
        route: parts.route,
        priority: priorityLabel(parts.priority),
        timeToLiveSecs: parts.timeToLiveSecs,
        total: this.history.total(key),
        perSecond: this.history.rate(key),
        history: this.history.series(key),
      };
    });
  }

  async queues(): Promise<QueueView[]> {
    const store = this.store;
    if (store === undefined || this.pipeline === undefined) return [];
    const now = this.clock.now();
    const infos = [...store.queues()].sort((a, b) => (a.endpointId < b.endpointId ? -1 : a.endpointId > b.endpointId ? 1 : a.priority - b.priority));
    return await Promise.all(
      infos.map(async (q) => {
        const key = queueKey(q.endpointId, q.priority);
        const view: QueueView = {
          endpoint: q.endpointId,
          priority: priorityLabel(q.priority),
          depth: q.length,
          inTotal: this.history.total(`i:${key}`),
          outTotal: this.history.total(`o:${key}`),
          inPerSecond: this.history.rate(`i:${key}`),
          outPerSecond: this.history.rate(`o:${key}`),
          inHistory: this.history.series(`i:${key}`),
          outHistory: this.history.series(`o:${key}`),
        };
        if (q.length > 0) {
          // One entry read from the store (never the pump's memory): the oldest undelivered.
          const [oldest] = await store.read(q, q.checkpoint, 1).catch(() => []);
          if (oldest !== undefined) view.oldestAgeMs = Math.max(0, now - oldest.enqueuedAt);
        }
        const failure = this.pipeline?.lastFailure(q.endpointId);
        if (failure !== undefined) view.lastError = { ...failure };
        return view;
      }),
    );
  }

  clients(): ClientView[] {
    if (this.clientActivity === undefined) return [];
    return this.clientActivity
      .clients()
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((c) => ({ id: c.id, protocol: c.protocol, since: c.since, messagesIn: this.history.total(`ci:${c.id}`), messagesOut: this.history.total(`co:${c.id}`) }));
  }

  upstream(): UpstreamView | undefined {
    if (this.upstreamActivity === undefined) return undefined;
    const state = this.upstreamActivity.state();
    const backlog = (this.store?.queues() ?? []).filter((q) => q.endpointId === '$upstream').reduce((n, q) => n + q.length, 0);
    const view: UpstreamView = { ...state, backlog };
    const failure = this.pipeline?.lastFailure('$upstream');
    if (failure !== undefined) view.lastError = { ...failure };
    return view;
  }

  /** Twin of `id` (`device` or `device/module`). */
  async twin(id: string): Promise<TwinView> {
    if (this.twins === undefined) throw new ObserveError(503, 'the edge hub is not running in this runtime (started with --only agent or hub.enabled = false)');
    let identity;
    try {
      identity = parseIdentity(id);
    } catch (error) {
      throw new ObserveError(400, `a twin is named <deviceId> or <deviceId>/<moduleId>: ${(error as Error).message}`);
    }
    const twin = await this.twins.get(identity);
    return { id: formatIdentity(identity), desired: sectionJson(twin.desired), reported: sectionJson(twin.reported) };
  }

  /** Identities that have a twin here: registered ones and connected clients, sorted. */
  async twinIds(): Promise<string[]> {
    const ids = new Set<string>(this.clientActivity?.clients().map((c) => c.id) ?? []);
    for (const record of (await this.identities?.list()) ?? []) ids.add(formatIdentity(record.identity));
    return [...ids].sort();
  }

  private schedule(): void {
    this.timer = this.clock.schedule(SAMPLE_INTERVAL_MS, () => {
      if (this.timer === undefined) return;
      this.sample();
      this.schedule();
    });
  }
}
