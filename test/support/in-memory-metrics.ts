import { injectable } from 'inversify';
import { Metrics, type Counter, type Gauge, type MetricLabels, type MetricSample, type MetricsCollector, type Summary } from '../../application/ports/metrics.js';

function labelKey(labels: MetricLabels | undefined): string {
  if (labels === undefined) return '';
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  if (keys.length > 1) keys.sort();
  let out = '';
  for (const k of keys) out += `${k}\u0001${labels[k]}\u0002`;
  return out;
}

interface Row {
  labels: MetricLabels;
  value: number;
  sum: number;
}

class Series {
  readonly values = new Map<string, Row>();
  constructor(readonly name: string, readonly type: 'counter' | 'gauge' | 'summary', readonly help: string) {}

  row(labels: MetricLabels | undefined): Row {
    const key = labelKey(labels);
    let row = this.values.get(key);
    if (row === undefined) this.values.set(key, (row = { labels: { ...labels }, value: 0, sum: 0 }));
    return row;
  }

  add(labels: MetricLabels | undefined, delta: number): void {
    this.row(labels).value += delta;
  }

  /** A summary observation: `value` counts observations, `sum` adds them up. */
  observe(labels: MetricLabels, value: number): void {
    const row = this.row(labels);
    row.value++;
    row.sum += value;
  }

  set(labels: MetricLabels, value: number): void {
    this.row(labels).value = value;
  }
}

/** Counters and gauges in process memory; the metrics endpoint renders `snapshot()`. */
@injectable()
export class InMemoryMetrics extends Metrics {
  private readonly series = new Map<string, Series>();

  private readonly collectors = new Set<MetricsCollector>();

  counter(name: string, help: string): Counter {
    const s = this.get(name, 'counter', help);
    return {
      inc: (labels, value = 1) => s.add(labels, value),
      bind: (labels) => {
        const row = s.row(labels);
        return { inc: (value = 1) => void (row.value += value) };
      },
    };
  }

  summary(name: string, help: string): Summary {
    const s = this.get(name, 'summary', help);
    return {
      observe: (labels, value) => s.observe(labels, value),
      bind: (labels) => ({ observe: (value) => s.observe(labels, value) }),
    };
  }

  onCollect(collector: MetricsCollector): () => void {
    this.collectors.add(collector);
    return () => this.collectors.delete(collector);
  }

  async collect(): Promise<void> {
    for (const collector of this.collectors) await collector();
  }

  gauge(name: string, help: string): Gauge {
    const s = this.get(name, 'gauge', help);
    return {
      set: (labels, value) => s.set(labels, value),
      inc: (labels, value = 1) => s.add(labels, value),
      dec: (labels, value = 1) => s.add(labels, -value),
    };
  }

  snapshot(): MetricSample[] {
    const out: MetricSample[] = [];
    for (const s of this.series.values()) {
      for (const row of s.values.values()) {
        const sample: MetricSample = { name: s.name, type: s.type, labels: { ...row.labels }, value: row.value };
        if (s.type === 'summary') sample.sum = row.sum;
        out.push(sample);
      }
    }
    return out;
  }

  /** Sum of a metric's series whose labels include `labels` (tests, health checks). */
  value(name: string, labels: MetricLabels = {}): number {
    const s = this.series.get(name);
    if (s === undefined) return 0;
    let total = 0;
    for (const row of s.values.values()) {
      if (Object.entries(labels).every(([k, v]) => row.labels[k] === v)) total += row.value;
    }
    return total;
  }

  private get(name: string, type: 'counter' | 'gauge' | 'summary', help: string): Series {
    let s = this.series.get(name);
    if (s === undefined) {
      s = new Series(name, type, help);
      this.series.set(name, s);
    } else if (s.type !== type) {
      throw new Error(`metric ${name} is already registered as a ${s.type}`);
    }
    return s;
  }
}
