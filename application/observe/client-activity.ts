import { inject, injectable } from 'inversify';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';
import type { ClientChannel } from '../ports/client-channel.js';
import { Clock } from '../ports/clock.js';
import { HostedService, type ListenInfo } from '../ports/hosted-service.js';
import { Metrics, type Counter, type Gauge } from '../ports/metrics.js';
import { ClientDirectory } from '../hub/client-directory.js';

/** A connected client as the read model shows it. */
export interface ConnectedClient {
  /** `device` or `device/module`. */
  readonly id: string;
  readonly protocol: string;
  /** When this connection was registered (epoch ms). */
  readonly since: number;
}

/**
 * Follows the client directory: when each connection came (a takeover by a new connection of the
 * same identity starts a new `since`), and Azure's connection series `edgehub_connected_clients`,
 * `edgehub_client_connect_success_total{id}`, `edgehub_client_disconnect_total{id}`. Only connects
 * and disconnects reach it, never messages.
 */
@injectable()
export class ClientActivity extends HostedService {
  readonly name = 'client-activity';
  private readonly known = new Map<string, { channel: ClientChannel; since: number }>();
  private readonly connects: Counter;
  private readonly disconnects: Counter;
  private readonly connectedGauge: Gauge;
  private unsubscribe: (() => void) | undefined;

  constructor(
    @inject(ClientDirectory) private readonly directory: ClientDirectory,
    @inject(Clock) private readonly clock: Clock,
    @inject(Metrics) metrics: Metrics,
  ) {
    super();
    this.connects = metrics.counter('edgehub_client_connect_success_total', 'Total number of times individual client successfully connect to edgeHub');
    this.disconnects = metrics.counter('edgehub_client_disconnect_total', 'Total number of times individual client disconnected from edgeHub');
    this.connectedGauge = metrics.gauge('edgehub_connected_clients', 'Current number of connected clients to edge hub');
    this.connectedGauge.set({}, 0);
  }

  async start(): Promise<ListenInfo[]> {
    if (this.unsubscribe !== undefined) return [];
    this.unsubscribe = this.directory.onChange((identity) => this.changed(identity));
    // Clients that connected before this service started (heads start first) count from now.
    for (const channel of this.directory.connected()) this.changed(channel.identity);
    return [];
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** The connected clients, by identity. */
  clients(): ConnectedClient[] {
    return [...this.known.entries()].map(([id, { channel, since }]) => ({ id, protocol: channel.protocol, since }));
  }

  private changed(identity: Identity): void {
    const id = formatIdentity(identity);
    const channel = this.directory.get(identity);
    const known = this.known.get(id);
    if (channel === known?.channel) return; // a subscription change of the same connection
    if (known !== undefined) {
      this.disconnects.inc({ id });
      this.known.delete(id);
    }
    if (channel !== undefined) {
      this.connects.inc({ id });
      this.known.set(id, { channel, since: this.clock.now() });
    }
    this.connectedGauge.set({}, this.known.size);
  }
}
