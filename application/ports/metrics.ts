export type MetricLabels = Record<string, string>;

export interface Counter {
  inc(labels?: MetricLabels, value?: number): void;
}

export interface Gauge {
  set(labels: MetricLabels, value: number): void;
  inc(labels?: MetricLabels, value?: number): void;
  dec(labels?: MetricLabels, value?: number): void;
}

/** A snapshot row of one metric series, for the metrics endpoint and for tests. */
export interface MetricSample {
  name: string;
  type: 'counter' | 'gauge';
  labels: MetricLabels;
  value: number;
}

/**
 * Counters and gauges (Prometheus naming: `edgeport_messages_received_total`). Registering the same
 * name twice returns the same instrument.
 */
export abstract class Metrics {
  abstract counter(name: string, help: string): Counter;
  abstract gauge(name: string, help: string): Gauge;
  abstract snapshot(): MetricSample[];
}
