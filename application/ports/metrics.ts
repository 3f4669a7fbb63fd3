export type MetricLabels = Record<string, string>;

/** One series of a counter, resolved once: `inc` is a plain addition (for the message path). */
export interface BoundCounter {
  inc(value?: number): void;
}

export interface Counter {
  inc(labels?: MetricLabels, value?: number): void;
  /** The series of `labels`, to keep and increment without looking it up again. */
  bind(labels: MetricLabels): BoundCounter;
}

export interface Gauge {
  set(labels: MetricLabels, value: number): void;
  inc(labels?: MetricLabels, value?: number): void;
  dec(labels?: MetricLabels, value?: number): void;
}

/** One series of a summary, resolved once (see `Counter.bind`). */
export interface BoundSummary {
  observe(value: number): void;
}

/**
 * Observations (durations in seconds, sizes) summarized as a count, a sum and quantiles over the
 * recent observations (Azure's `edgehub_*_duration_seconds` are summaries).
 */
export interface Summary {
  observe(labels: MetricLabels, value: number): void;
  bind(labels: MetricLabels): BoundSummary;
}

/**
 * A snapshot row of one metric series, for the metrics endpoint, the read model and tests. A
 * summary's `value` is its observation count, and `sum` the sum of its observations.
 */
export interface MetricSample {
  name: string;
  type: 'counter' | 'gauge' | 'summary';
  labels: MetricLabels;
  value: number;
  sum?: number;
}

/** Work that brings gauges up to date just before they are read (a scrape). */
export type MetricsCollector = () => void | Promise<void>;

/**
 * Counters, gauges and summaries (Prometheus naming: `edgeport_messages_received_total`,
 * `edgehub_messages_sent_total`). Registering the same name twice returns the same instrument.
 */
export abstract class Metrics {
  abstract counter(name: string, help: string): Counter;
  abstract gauge(name: string, help: string): Gauge;
  abstract summary(name: string, help: string): Summary;
  abstract snapshot(): MetricSample[];
  /**
   * Runs `collector` before every scrape, for gauges that are cheaper to compute when read than to
   * keep current (connected clients, time running). Returns the function that removes it.
   */
  abstract onCollect(collector: MetricsCollector): () => void;
  /** Runs the collectors (the metrics endpoint calls it before rendering). */
  abstract collect(): Promise<void>;
}
