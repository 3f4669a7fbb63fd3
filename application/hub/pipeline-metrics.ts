import { inject, injectable } from 'inversify';
import { Metrics, type Counter, type Gauge } from '../ports/metrics.js';

export type DropReason = 'ttl_expiry' | 'delivery_failed';

/** The pipeline's instruments (names follow Azure's `edgehub_*` metrics with an `edgeport_` prefix). */
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

  constructor(@inject(Metrics) metrics: Metrics) {
    this.received = metrics.counter('edgeport_messages_received_total', 'Messages accepted and stored');
    this.refused = metrics.counter('edgeport_messages_refused_total', 'Messages refused at ingest, by reason');
    this.unrouted = metrics.counter('edgeport_messages_unrouted_total', 'Messages that matched no route');
    this.sent = metrics.counter('edgeport_messages_sent_total', 'Messages delivered, by endpoint and priority');
    this.dropped = metrics.counter('edgeport_messages_dropped_total', 'Stored messages dropped, by endpoint and reason');
    this.deliveryTimeouts = metrics.counter('edgeport_delivery_timeouts_total', 'Deliveries that timed out and will be retried');
    this.queueLength = metrics.gauge('edgeport_queue_length', 'Undelivered entries per endpoint and priority');
    this.storeBytes = metrics.gauge('edgeport_store_bytes', 'Bytes of stored messages');
  }
}
