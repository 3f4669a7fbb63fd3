import { inject, injectable } from 'inversify';
import { Clock, type TimerHandle } from '../ports/clock.js';
import { EndpointDelivery } from '../ports/endpoint-delivery.js';
import { HostedService, type ListenInfo } from '../ports/hosted-service.js';
import { Logger } from '../ports/logger.js';
import { MessageStore } from '../ports/message-store.js';
import { RandomSource } from '../ports/random-source.js';
import { endpointFromId } from './endpoint-id.js';
import { EndpointPump, type PumpDependencies } from './endpoint-pump.js';
import { PipelineMetrics } from './pipeline-metrics.js';
import { PipelineOptions } from './pipeline-options.js';
import { QueueSignal } from './queue-signal.js';

/**
 * Runs one pump per endpoint (created from the stored queues at start and whenever a new queue gets
 * entries) and the periodic sweep: expired entries removed and counted, disk space given back.
 */
@injectable()
export class DeliverStoredMessages extends HostedService {
  readonly name = 'message-pumps';
  private readonly pumps = new Map<string, EndpointPump>();
  private readonly deps: PumpDependencies;
  private unsubscribe: Array<() => void> = [];
  private sweepTimer: TimerHandle | null = null;
  private sweeping: Promise<void> | null = null;
  private running = false;
  private readonly log: Logger;

  constructor(
    @inject(MessageStore) private readonly store: MessageStore,
    @inject(EndpointDelivery) delivery: EndpointDelivery,
    @inject(QueueSignal) private readonly signal: QueueSignal,
    @inject(Clock) private readonly clock: Clock,
    @inject(RandomSource) random: RandomSource,
    @inject(PipelineMetrics) private readonly metrics: PipelineMetrics,
    @inject(PipelineOptions) private readonly options: PipelineOptions,
    @inject(Logger) logger: Logger,
  ) {
    super();
    this.deps = { store, delivery, clock, random, metrics, options, logger };
    this.log = logger.child({ component: 'message-pumps' });
  }

  async start(): Promise<ListenInfo[]> {
    if (this.running) return [];
    this.running = true;
    await this.store.open();
    this.unsubscribe.push(
      this.signal.subscribe((queues, committed) => {
        queues.forEach((q, i) => this.pump(q.endpointId).notify(q.priority, committed?.[i]));
      }),
      this.deps.delivery.onAvailabilityChange((endpointId) => this.pumps.get(endpointId)?.wake()),
    );
    for (const q of this.store.queues()) {
      this.pump(q.endpointId).addQueue(q.priority, q.checkpoint, q.length > 0);
      this.metrics.queueLength.set({ endpoint: q.endpointId, priority: String(q.priority) }, q.length);
    }
    this.metrics.storeBytes.set({}, this.store.usedBytes());
    this.scheduleSweep();
    return [];
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.sweepTimer?.cancel();
    this.sweepTimer = null;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    await this.sweeping;
    await Promise.all([...this.pumps.values()].map((p) => p.stop()));
    this.pumps.clear();
  }

  /** Removes expired entries now, refreshes gauges and gives disk space back. */
  sweepNow(): Promise<void> {
    if (this.sweeping === null) {
      this.sweeping = this.sweep().finally(() => {
        this.sweeping = null;
      });
    }
    return this.sweeping;
  }

  private async sweep(): Promise<void> {
    await Promise.all([...this.pumps.values()].map((p) => p.sweep()));
    await this.store.compact();
    for (const q of this.store.queues()) {
      this.metrics.queueLength.set({ endpoint: q.endpointId, priority: String(q.priority) }, q.length);
    }
    this.metrics.storeBytes.set({}, this.store.usedBytes());
  }

  private scheduleSweep(): void {
    if (!this.running) return;
    this.sweepTimer = this.clock.schedule(this.options.cleanupIntervalMs, () => {
      void this.sweepNow()
        .catch((error: unknown) => this.log.error('store sweep failed', { error: error instanceof Error ? error.message : String(error) }))
        .finally(() => this.scheduleSweep());
    });
  }

  private pump(endpointId: string): EndpointPump {
    let pump = this.pumps.get(endpointId);
    if (pump === undefined) {
      pump = new EndpointPump(endpointFromId(endpointId), this.deps);
      this.pumps.set(endpointId, pump);
      if (this.running) pump.start();
    }
    return pump;
  }
}
