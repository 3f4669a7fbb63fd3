import { Clock, type TimerHandle } from '../ports/clock.js';
import { HostedService, type ListenInfo } from '../ports/hosted-service.js';
import type { Logger } from '../ports/logger.js';
import type { Metrics, MetricSample } from '../ports/metrics.js';

/** Totals read from the pipeline's metrics (`PipelineMetrics`). */
export interface TrafficTotals {
  received: number;
  /** Delivered messages per endpoint id (`filter/input1`, `$upstream`), summed over priorities. */
  sent: Record<string, number>;
  /** Undelivered entries per endpoint id, summed over priorities. */
  queued: Record<string, number>;
}

function sumByEndpoint(samples: readonly MetricSample[], name: string): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name) continue;
    const endpoint = s.labels['endpoint'] ?? '';
    totals[endpoint] = (totals[endpoint] ?? 0) + s.value;
  }
  return totals;
}

export function trafficTotals(samples: readonly MetricSample[]): TrafficTotals {
  let received = 0;
  for (const s of samples) if (s.name === 'edgeport_messages_received_total') received += s.value;
  return { received, sent: sumByEndpoint(samples, 'edgeport_messages_sent_total'), queued: sumByEndpoint(samples, 'edgeport_queue_length') };
}

/**
 * The report line, e.g. `messages: received 120 (+10); delivered filter/input1 118 (+10); queued $upstream 30`.
 * Undefined when nothing was received or delivered since `previous` (an idle hub stays quiet).
 */
export function describeTraffic(now: TrafficTotals, previous: TrafficTotals): string | undefined {
  const changed = now.received !== previous.received || Object.entries(now.sent).some(([e, n]) => n !== (previous.sent[e] ?? 0));
  if (!changed) return undefined;
  const delta = (n: number, before: number): string => (n === before ? `${n}` : `${n} (+${n - before})`);
  const parts = [`received ${delta(now.received, previous.received)}`];
  const sent = Object.keys(now.sent).sort();
  if (sent.length > 0) parts.push(`delivered ${sent.map((e) => `${e} ${delta(now.sent[e]!, previous.sent[e] ?? 0)}`).join(', ')}`);
  const queued = Object.keys(now.queued).filter((e) => now.queued[e]! > 0).sort();
  if (queued.length > 0) parts.push(`queued ${queued.map((e) => `${e} ${now.queued[e]}`).join(', ')}`);
  return `messages: ${parts.join('; ')}`;
}

/**
 * Logs the hub's message counts every `intervalMs` while messages flow (received, delivered per
 * endpoint, still queued per endpoint, from the pipeline metrics), so a console shows traffic
 * without scraping `/metrics`. Module output itself stays in the module logs (`edgeport logs`).
 */
export class TrafficReport extends HostedService {
  readonly name = 'traffic-report';
  private timer: TimerHandle | undefined;
  private last: TrafficTotals = { received: 0, sent: {}, queued: {} };
  private readonly log: Logger;

  constructor(
    private readonly metrics: Metrics,
    private readonly clock: Clock,
    logger: Logger,
    private readonly intervalMs: number,
  ) {
    super();
    this.log = logger.child({ component: 'traffic' });
  }

  async start(): Promise<ListenInfo[]> {
    if (this.intervalMs > 0 && this.timer === undefined) {
      this.last = trafficTotals(this.metrics.snapshot());
      this.schedule();
    }
    return [];
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** One report now (also what the timer runs). */
  report(): void {
    const totals = trafficTotals(this.metrics.snapshot());
    const line = describeTraffic(totals, this.last);
    if (line !== undefined) this.log.info(line, { received: totals.received, delivered: totals.sent, queued: totals.queued });
    this.last = totals;
  }

  private schedule(): void {
    this.timer = this.clock.schedule(this.intervalMs, () => {
      if (this.timer === undefined) return;
      this.report();
      this.schedule();
    });
  }
}
