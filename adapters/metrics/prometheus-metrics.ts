import { injectable } from 'inversify';
import { collectDefaultMetrics, Counter as PromCounter, Gauge as PromGauge, Registry } from 'prom-client';
import { Metrics, type Counter, type Gauge, type MetricLabels, type MetricSample } from '../../application/ports/metrics.js';

interface Series {
  labels: MetricLabels;
  value: number;
}

/** One metric's series, keyed by a canonical label string. Plain maps keep the hot path cheap. */
class SeriesMap {
  readonly series = new Map<string, Series>();

  add(labels: MetricLabels | undefined, delta: number): void {
    const entry = this.entry(labels);
    entry.value += delta;
  }

  set(labels: MetricLabels, value: number): void {
    this.entry(labels).value = value;
  }

  private entry(labels: MetricLabels | undefined): Series {
    const key = labels === undefined ? '' : labelKey(labels);
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { labels: labels === undefined ? {} : { ...labels }, value: 0 };
      this.series.set(key, entry);
    }
    return entry;
  }
}

function labelKey(labels: MetricLabels): string {
  const keys = Object.keys(labels);
  if (keys.length === 1) return `${keys[0]}=${labels[keys[0]!]}`;
  return keys
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/**
 * The Metrics port. Instruments update plain maps (synchronous, allocation-light); prom-client
 * copies them into its registry only when scraped, and adds the process metrics (RSS, event-loop
 * lag, GC) that operators of a gateway want. One registry per instance, so tests never share series.
 */
@injectable()
export class PrometheusMetrics extends Metrics {
  readonly registry = new Registry();
  private readonly metrics = new Map<string, Instrument>();

  constructor() {
    super();
    collectDefaultMetrics({ register: this.registry, prefix: 'edgeport_' });
  }

  counter(name: string, help: string): Counter {
    const data = this.register(name, help, 'counter');
    return { inc: (labels?: MetricLabels, value = 1) => data.add(labels, value) };
  }

  gauge(name: string, help: string): Gauge {
    const data = this.register(name, help, 'gauge');
    return {
      set: (labels: MetricLabels, value: number) => data.set(labels, value),
      inc: (labels?: MetricLabels, value = 1) => data.add(labels, value),
      dec: (labels?: MetricLabels, value = 1) => data.add(labels, -value),
    };
  }

  snapshot(): MetricSample[] {
    const samples: MetricSample[] = [];
    for (const [name, { type, data }] of this.metrics) {
      for (const { labels, value } of data.series.values()) samples.push({ name, type, labels: { ...labels }, value });
    }
    return samples;
  }

  /** Prometheus text exposition format. */
  async exposition(): Promise<string> {
    for (const [name, instrument] of this.metrics) this.syncRegistration(name, instrument);
    return await this.registry.metrics();
  }

  private register(name: string, help: string, type: 'counter' | 'gauge'): SeriesMap {
    const existing = this.metrics.get(name);
    if (existing !== undefined) {
      if (existing.type !== type) throw new Error(`metric ${name} is already registered as a ${existing.type}`);
      return existing.data;
    }
    const data = new SeriesMap();
    this.metrics.set(name, { type, help, data, labelNames: undefined });
    return data;
  }

  /**
   * Instruments learn their label names from use, while prom-client fixes them at construction:
   * (re)create the prom-client metric whenever the set of label names in use has changed. Its
   * collect callback copies the current values at scrape time.
   */
  private syncRegistration(name: string, instrument: Instrument): void {
    const names = new Set<string>();
    for (const { labels } of instrument.data.series.values()) for (const label of Object.keys(labels)) names.add(label);
    const labelNames = [...names].sort().join(',');
    if (instrument.labelNames === labelNames) return;
    if (instrument.labelNames !== undefined) this.registry.removeSingleMetric(name);
    instrument.labelNames = labelNames;
    const data = instrument.data;
    const configuration = { name, help: instrument.help, labelNames: [...names], registers: [this.registry] };
    if (instrument.type === 'counter') {
      new PromCounter({
        ...configuration,
        collect(this: PromCounter) {
          this.reset();
          for (const series of data.series.values()) this.inc(series.labels, series.value);
        },
      });
    } else {
      new PromGauge({
        ...configuration,
        collect(this: PromGauge) {
          this.reset();
          for (const series of data.series.values()) this.set(series.labels, series.value);
        },
      });
    }
  }
}

interface Instrument {
  type: 'counter' | 'gauge';
  help: string;
  data: SeriesMap;
  /** Label names the prom-client metric was created with (sorted, comma-joined); undefined before the first scrape. */
  labelNames: string | undefined;
}
