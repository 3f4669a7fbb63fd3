import { inject, injectable, optional } from 'inversify';
import type { QueueKey } from '../../domain/messages/store-and-forward.js';
import { DEFAULT_ROUTE_PRIORITY, type Endpoint, type RouteMatch } from '../../domain/routing/index.js';
import type { QueuedMessage } from '../ports/message-store.js';
import { Metrics, type BoundCounter, type BoundSummary, type Counter, type Gauge, type MetricLabels, type Summary } from '../ports/metrics.js';
import { HubIdentity } from './hub-identity.js';

export type DropReason = 'ttl_expiry' | 'delivery_failed';

/** Names of the pipeline's series, for readers of `Metrics.snapshot()` (the read model, the traffic report). */
export const PIPELINE_METRICS = {
  received: 'edgeport_messages_received_total',
  sent: 'edgeport_messages_sent_total',
  queueLength: 'edgeport_queue_length',
  enqueued: 'edgeport_queue_enqueued_total',
  routeMessages: 'edgeport_route_messages_total',
  /** Azure IoT Edge's names and labels (`doc/BuiltInMetrics.md`), alongside the `edgeport_*` series. */
  azureReceived: 'edgehub_messages_received_total',
  azureSent: 'edgehub_messages_sent_total',
  azureQueueLength: 'edgehub_queue_length',
  azureProcessDuration: 'edgehub_message_process_duration_seconds',
  azureDropped: 'edgehub_messages_dropped_total',
} as const;

/** A route priority as a label value: `0`-`9`, or `default` for routes that set none (2000000000). */
export function priorityLabel(priority: number | string): string {
  return Number(priority) === DEFAULT_ROUTE_PRIORITY ? 'default' : String(priority);
}

/** The client that sent a message (`device` or `device/module`), from its system properties. */
export function senderOf(systemProperties: SystemProperties): string {
  const device = systemProperties['connectionDeviceId'] ?? '';
  const module = systemProperties['connectionModuleId'];
  return module === undefined || module === null || module === '' ? device : `${device}/${module}`;
}

/**
 * Values per (device, module, output) in nested maps: looked up with the strings of the message's
 * system properties as they are, so the message path builds no key string.
 */
class BySender<T> {
  private readonly devices = new Map<string, Map<string, Map<string, T>>>();

  get(device: string, module: string, output: string): T | undefined {
    return this.devices.get(device)?.get(module)?.get(output);
  }

  set(device: string, module: string, output: string, value: T): T {
    let modules = this.devices.get(device);
    if (modules === undefined) this.devices.set(device, (modules = new Map()));
    let outputs = modules.get(module);
    if (outputs === undefined) modules.set(module, (outputs = new Map()));
    outputs.set(output, value);
    return value;
  }
}

type SystemProperties = Readonly<Record<string, string | null | undefined>>;

interface DeliverySeries {
  sent: BoundCounter;
  duration: BoundSummary;
}

/** The last failed delivery of an endpoint (the read model shows it as the endpoint's last error). */
export interface DeliveryFailure {
  message: string;
  at: number;
}

/**
 * The pipeline's instruments: `edgeport_*` series (Azure's `edgehub_*` metrics with an `edgeport_`
 * prefix and Edgeport's labels) and, alongside, Azure IoT Edge's own names and labels, so that
 * Azure's metrics collector and Grafana dashboards work unchanged.
 *
 * The per-message methods (`routed`, `delivered`) resolve each label set once and keep the bound
 * series in nested maps keyed by the message's own property strings, so the message path builds no
 * string: a few map lookups (none for a run of messages of one sender) and additions per message.
 */
@injectable()
export class PipelineMetrics {
  readonly received: Counter;
  readonly refused: Counter;
  readonly unrouted: Counter;
  readonly sent: Counter;
  readonly dropped: Counter;
  readonly deliveryTimeouts: Counter;
  readonly queueLength: Gauge;
  readonly storeBytes: Gauge;
  private readonly enqueuedTotal: Counter;
  private readonly routeMessages: Counter;
  private readonly azureReceived: Counter;
  private readonly azureSent: Counter;
  private readonly azureDropped: Counter;
  private readonly azureProcessDuration: Summary;
  private readonly receivedBySender = new BySender<BoundCounter>();
  /** The last sender's counter: a flood from one client skips the lookups. */
  private lastReceived: BoundCounter | undefined;
  private lastReceivedFrom: SystemProperties | undefined;
  private readonly byRoute = new Map<string, BoundCounter>();
  private readonly byQueue = new Map<string, BoundCounter>();
  private readonly deliveries = new Map<string, Map<number, BySender<DeliverySeries>>>();
  private readonly failures = new Map<string, DeliveryFailure>();

  constructor(
    @inject(Metrics) metrics: Metrics,
    /** Names module endpoints in `to` (`<edge device>/<module>`); without it `to` is the module name. */
    @inject(HubIdentity) @optional() private readonly hub?: HubIdentity,
  ) {
    this.received = metrics.counter(PIPELINE_METRICS.received, 'Messages accepted and stored');
    this.refused = metrics.counter('edgeport_messages_refused_total', 'Messages refused at ingest, by reason');
    this.unrouted = metrics.counter('edgeport_messages_unrouted_total', 'Messages that matched no route');
    this.sent = metrics.counter(PIPELINE_METRICS.sent, 'Messages delivered, by endpoint and priority');
    const dropped = metrics.counter('edgeport_messages_dropped_total', 'Stored messages dropped, by endpoint and reason');
    this.deliveryTimeouts = metrics.counter('edgeport_delivery_timeouts_total', 'Deliveries that timed out and will be retried');
    const queueLength = metrics.gauge(PIPELINE_METRICS.queueLength, 'Undelivered entries per endpoint and priority');
    this.storeBytes = metrics.gauge('edgeport_store_bytes', 'Bytes of stored messages');
    this.enqueuedTotal = metrics.counter(PIPELINE_METRICS.enqueued, 'Entries added to a queue, by endpoint and priority');
    this.routeMessages = metrics.counter(PIPELINE_METRICS.routeMessages, 'Messages a route sent to its endpoint (the best-priority route per endpoint)');
    this.azureReceived = metrics.counter(PIPELINE_METRICS.azureReceived, 'Total number of messages received from clients');
    this.azureSent = metrics.counter(PIPELINE_METRICS.azureSent, 'Total number of messages sent to clients or upstream');
    this.azureDropped = metrics.counter(PIPELINE_METRICS.azureDropped, 'Total number of messages removed because of reason');
    this.azureProcessDuration = metrics.summary(PIPELINE_METRICS.azureProcessDuration, 'Time taken to process a message from the queue');
    const azureQueueLength = metrics.gauge(PIPELINE_METRICS.azureQueueLength, "Current length of edgeHub's queue for a given priority");
    const azureDropped = this.azureDropped;
    // Both names from the call sites that update the edgeport_* series (queue refreshes and drops
    // are per batch, not per message).
    this.queueLength = {
      set: (labels, value) => {
        queueLength.set(labels, value);
        azureQueueLength.set(azureQueueLabels(labels), value);
      },
      inc: (labels, value) => {
        queueLength.inc(labels, value);
        azureQueueLength.inc(labels === undefined ? undefined : azureQueueLabels(labels), value);
      },
      dec: (labels, value) => {
        queueLength.dec(labels, value);
        azureQueueLength.dec(labels === undefined ? undefined : azureQueueLabels(labels), value);
      },
    };
    this.dropped = {
      inc: (labels, value) => {
        dropped.inc(labels, value);
        // Azure knows no_route and ttl_expiry; the sender of an expired entry is not at hand here.
        if (labels?.['reason'] === 'ttl_expiry') azureDropped.inc({ reason: 'ttl_expiry', from: '', from_route_output: '' }, value);
      },
      bind: (labels) => dropped.bind(labels),
    };
  }

  /** A message was routed (before it is stored): counts it per sender and output, and per matching route. */
  routed(systemProperties: SystemProperties, matches: readonly RouteMatch[]): void {
    const device = systemProperties['connectionDeviceId'] ?? '';
    const module = systemProperties['connectionModuleId'] ?? '';
    const output = systemProperties['outputName'] ?? '';
    let counter = this.lastReceived;
    if (counter === undefined || !sameSender(systemProperties, this.lastReceivedFrom!)) {
      counter = this.receivedBySender.get(device, module, output) ?? this.receivedBySender.set(device, module, output, this.azureReceived.bind({ route_output: output, id: senderOf(systemProperties) }));
      this.lastReceived = counter;
      this.lastReceivedFrom = systemProperties;
    }
    counter.inc();
    if (matches.length === 0) {
      this.azureDropped.inc({ reason: 'no_route', from: senderOf(systemProperties), from_route_output: output });
      return;
    }
    for (let i = 0; i < matches.length; i++) {
      const route = matches[i]!.route;
      let routeCounter = this.byRoute.get(route);
      if (routeCounter === undefined) {
        routeCounter = this.routeMessages.bind({ route });
        this.byRoute.set(route, routeCounter);
      }
      routeCounter.inc();
    }
  }

  /** Entries were committed to queues (`committed[i]` to `queues[i]`). */
  enqueued(queues: readonly QueueKey[], committed: ReadonlyArray<readonly QueuedMessage[]>): void {
    for (let i = 0; i < queues.length; i++) {
      const q = queues[i]!;
      const key = `${q.endpointId}\u0000${q.priority}`;
      let counter = this.byQueue.get(key);
      if (counter === undefined) {
        counter = this.enqueuedTotal.bind({ endpoint: q.endpointId, priority: String(q.priority) });
        this.byQueue.set(key, counter);
      }
      counter.inc(committed[i]?.length ?? 0);
    }
  }

  /** The first `count` entries of `batch` were delivered to `endpoint` at `now` (epoch ms). */
  delivered(endpoint: Endpoint, priority: number, batch: readonly QueuedMessage[], count: number, now: number): void {
    let byPriority = this.deliveries.get(endpoint.id);
    if (byPriority === undefined) this.deliveries.set(endpoint.id, (byPriority = new Map()));
    let series = byPriority.get(priority);
    if (series === undefined) byPriority.set(priority, (series = new BySender()));
    let last: DeliverySeries | undefined;
    let lastSystem: SystemProperties | undefined;
    for (let i = 0; i < count; i++) {
      const entry = batch[i]!;
      const system = entry.message.systemProperties;
      // Consecutive messages of one sender (the common case) share the series without a lookup.
      if (last === undefined || !sameSender(system, lastSystem!)) {
        const device = system['connectionDeviceId'] ?? '';
        const module = system['connectionModuleId'] ?? '';
        const output = system['outputName'] ?? '';
        last = series.get(device, module, output) ?? series.set(device, module, output, this.deliverySeries(endpoint, priority, senderOf(system), output));
        lastSystem = system;
      }
      last.sent.inc();
      last.duration.observe(Math.max(0, now - entry.enqueuedAt) / 1000);
    }
  }

  /** A delivery to `endpointId` failed (it will be retried or the message dropped). */
  deliveryFailed(endpointId: string, error: unknown, at: number): void {
    this.failures.set(endpointId, { message: error instanceof Error ? error.message : String(error), at });
  }

  /** The last failed delivery of `endpointId`, if any. */
  lastFailure(endpointId: string): DeliveryFailure | undefined {
    return this.failures.get(endpointId);
  }

  private deliverySeries(endpoint: Endpoint, priority: number, from: string, output: string): DeliverySeries {
    const upstream = endpoint.type === 'upstream';
    const to = upstream ? '$upstream' : this.hub === undefined ? endpoint.module : `${this.hub.edgeDeviceId}/${endpoint.module}`;
    const toInput = upstream ? '' : endpoint.input;
    const priorityName = priorityLabel(priority);
    return {
      sent: this.azureSent.bind({ from, to, from_route_output: output, to_route_input: toInput, priority: priorityName }),
      duration: this.azureProcessDuration.bind({ from, to, priority: priorityName }),
    };
  }
}

function sameSender(a: SystemProperties, b: SystemProperties): boolean {
  return a === b || (a['connectionDeviceId'] === b['connectionDeviceId'] && a['connectionModuleId'] === b['connectionModuleId'] && a['outputName'] === b['outputName']);
}

function azureQueueLabels(labels: MetricLabels): MetricLabels {
  return { endpoint: labels['endpoint'] ?? '', priority: priorityLabel(labels['priority'] ?? '') };
}
