import { injectable } from 'inversify';
import { Metrics, type Counter, type Gauge, type MetricLabels, type MetricSample } from '../../application/ports/metrics.js';

function labelKey(labels: MetricLabels | undefined): string {
  if (labels === undefined) return '';
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  if (keys.length > 1) keys.sort();
  let out = '';
  for (const k of keys) out += `${k}\u0001${labels[k]}\u0002`;
  return out;
}

class Series {
  readonly values = new Map<string, { labels: MetricLabels; value: number }>();
  constructor(readonly name: string, readonly type: 'counter' | 'gauge', readonly help: string) {}

  add(labels: MetricLabels | undefined, delta: number): void {
    const key = labelKey(labels);
    const row = this.values.get(key);
    if (row === undefined) this.values.set(key, { labels: { ...labels }, value: delta });
    else row.value += delta;
  }

  set(labels: MetricLabels, value: number): void {
    const key = labelKey(labels);
    const row = this.values.get(key);
    if (row === undefined) this.values.set(key, { labels: { ...labels }, value });
    else row.value = value;
  }
}

/** Counters and gauges in process memory; the metrics endpoint renders `snapshot()`. */
@injectable()
export class InMemoryMetrics extends Metrics {
  private readonly series = new Map<string, Series>();

  counter(name: string, help: string): Counter {
    const s = this.get(name, 'counter', help);
    return { inc: (labels, value = 1) => s.add(labels, value) };
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
      for (const row of s.values.values()) out.push({ name: s.name, type: s.type, labels: { ...row.labels }, value: row.value });
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

  private get(name: string, type: 'counter' | 'gauge', help: string): Series {
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
