import { inject, injectable } from 'inversify';
import { EDGE_HUB_MODULE_ID } from '../../domain/twins/twin-change-notification.js';
import { Clock } from '../ports/clock.js';
import { HostedService, type ListenInfo } from '../ports/hosted-service.js';
import { Metrics, type Counter, type Summary } from '../ports/metrics.js';
import { Upstream } from '../ports/upstream.js';
import { HubIdentity } from '../hub/hub-identity.js';

/** The connection to the cloud as the read model shows it. */
export interface UpstreamState {
  /** `iothub`, `amqp091`. */
  readonly kind: string;
  readonly connected: boolean;
  /** When the connection last came up or went down (epoch ms); the service start before any change. */
  readonly since: number;
  /** Times the connection was lost since start. */
  readonly offlineCount: number;
}

/**
 * Follows the upstream connection: connected or not and since when, and Azure's
 * `edgehub_offline_count_total{id}` and `edgehub_offline_duration_seconds{id}` (a summary of how
 * long each outage lasted), with `id` the edge hub's identity.
 */
@injectable()
export class UpstreamActivity extends HostedService {
  readonly name = 'upstream-activity';
  private connected = false;
  private since = 0;
  private offlineCount = 0;
  private readonly offlines: Counter;
  private readonly offlineDuration: Summary;
  private readonly labels: { id: string };
  private unsubscribe: (() => void) | undefined;

  constructor(
    @inject(Upstream) private readonly upstream: Upstream,
    @inject(HubIdentity) hub: HubIdentity,
    @inject(Clock) private readonly clock: Clock,
    @inject(Metrics) metrics: Metrics,
  ) {
    super();
    this.labels = { id: `${hub.edgeDeviceId}/${EDGE_HUB_MODULE_ID}` };
    this.offlines = metrics.counter('edgehub_offline_count_total', 'Total number of times edgeHub went offline');
    this.offlineDuration = metrics.summary('edgehub_offline_duration_seconds', 'Time edge hub was offline');
  }

  async start(): Promise<ListenInfo[]> {
    if (this.unsubscribe !== undefined) return [];
    this.since = this.clock.now();
    this.connected = this.upstream.isConnected();
    this.offlines.inc(this.labels, 0);
    this.unsubscribe = this.upstream.onConnectionChange((connected) => this.changed(connected));
    return [];
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  state(): UpstreamState {
    return { kind: this.upstream.kind, connected: this.upstream.isConnected(), since: this.since, offlineCount: this.offlineCount };
  }

  private changed(connected: boolean): void {
    if (connected === this.connected) return;
    const now = this.clock.now();
    // The first connection after start ends no outage.
    if (connected && this.offlineCount > 0) this.offlineDuration.observe(this.labels, Math.max(0, now - this.since) / 1000);
    else {
      this.offlineCount++;
      this.offlines.inc(this.labels);
    }
    this.connected = connected;
    this.since = now;
  }
}
