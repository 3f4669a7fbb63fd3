import { totalmem } from 'node:os';
import { inject, injectable, optional } from 'inversify';
import { collectDefaultMetrics, Counter as PromCounter, Gauge as PromGauge, Registry } from 'prom-client';
import {
  Metrics,
  type Counter,
  type Gauge,
  type MetricLabels,
  type MetricSample,
  type MetricsCollector,
  type Summary,
} from '../../application/ports/metrics.js';
import { SeriesMap, type Series } from './metric-series.js';
import { SummarySeries, summaryExposition } from './summary-series.js';

/**
 * Labels every series carries (Azure IoT Edge: `iothub`, `edge_device`, `instance_number`), and the
 * module name this process reports its own memory under (`edgeAgent_used_memory_bytes`).
 */
export class PrometheusMetricsOptions {
  constructor(
    readonly commonLabels: MetricLabels = {},
    /** `edgeAgent` (or `edgeHub` when the agent does not run here); undefined: not reported. */
    readonly processModuleName?: string,
  ) {}
}

type Instrument =
  | { type: 'counter' | 'gauge'; help: string; data: SeriesMap<Series>; labelNames: string | undefined }
  | { type: 'summary'; help: string; data: SeriesMap<SummarySeries> };

const newSeries = (labels: MetricLabels): Series => ({ labels, value: 0 });

/**
 * The Metrics port. Instruments update plain objects (synchronous, allocation-light; a bound series
 * is a plain addition); prom-client copies counters and gauges into its registry only when scraped
 * and adds the process metrics (RSS, event-loop lag, GC) that operators of a gateway want.
 * Summaries are kept in windows of recent observations and written in the text format here, because
 * prom-client's summaries cost a t-digest update per observation on the message path. One registry
 * per instance, so tests never share series.
 */
@injectable()
export class PrometheusMetrics extends Metrics {
  readonly registry = new Registry();
  private readonly metrics = new Map<string, Instrument>();
  private readonly collectors = new Set<MetricsCollector>();
  private readonly commonLabels: MetricLabels;

  constructor(@inject(PrometheusMetricsOptions) @optional() options: PrometheusMetricsOptions = new PrometheusMetricsOptions()) {
    super();
    this.commonLabels = { ...options.commonLabels };
    if (Object.keys(this.commonLabels).length > 0) this.registry.setDefaultLabels(this.commonLabels);
    collectDefaultMetrics({ register: this.registry, prefix: 'edgeport_' });
    const name = options.processModuleName;
    if (name !== undefined) {
      const used = this.gauge('edgeAgent_used_memory_bytes', 'Amount of RAM used by the module (this runtime: its resident set)');
      const total = this.gauge('edgeAgent_total_memory_bytes', 'RAM available');
      const uptime = this.gauge('edgeAgent_iotedged_uptime_seconds', 'How long the runtime has been running');
      this.onCollect(() => {
        used.set({ module_name: name }, process.memoryUsage.rss());
        total.set({ module_name: name }, totalmem());
        uptime.set({}, Math.floor(process.uptime()));
      });
    }
  }

  counter(name: string, help: string): Counter {
    const data = this.register(name, help, 'counter');
    return {
      inc: (labels?: MetricLabels, value = 1) => {
        data.entry(labels).value += value;
      },
      bind: (labels: MetricLabels) => {
        const series = data.entry(labels);
        return {
          inc: (value = 1) => {
            series.value += value;
          },
        };
      },
    };
  }

  gauge(name: string, help: string): Gauge {
    const data = this.register(name, help, 'gauge');
    return {
      set: (labels: MetricLabels, value: number) => {
        data.entry(labels).value = value;
      },
      inc: (labels?: MetricLabels, value = 1) => {
        data.entry(labels).value += value;
      },
      dec: (labels?: MetricLabels, value = 1) => {
        data.entry(labels).value -= value;
      },
    };
  }

  summary(name: string, help: string): Summary {
    const existing = this.metrics.get(name);
    if (existing !== undefined && existing.type !== 'summary') throw new Error(`metric ${name} is already registered as a ${existing.type}`);
    const instrument = existing ?? { type: 'summary' as const, help, data: new SeriesMap((labels) => new SummarySeries(labels)) };
    if (existing === undefined) this.metrics.set(name, instrument);
    const data = instrument.data;
    return {
      observe: (labels: MetricLabels, value: number) => data.entry(labels).observe(value),
      bind: (labels: MetricLabels) => {
        const series = data.entry(labels);
        return { observe: (value: number) => series.observe(value) };
      },
    };
  }

  snapshot(): MetricSample[] {
    const samples: MetricSample[] = [];
    for (const [name, instrument] of this.metrics) {
      if (instrument.type === 'summary') {
        for (const s of instrument.data.series.values()) samples.push({ name, type: 'summary', labels: { ...s.labels }, value: s.count, sum: s.sum });
      } else {
        for (const { labels, value } of instrument.data.series.values()) samples.push({ name, type: instrument.type, labels: { ...labels }, value });
      }
    }
    return samples;
  }

  onCollect(collector: MetricsCollector): () => void {
    this.collectors.add(collector);
    return () => this.collectors.delete(collector);
  }

  async collect(): Promise<void> {
    // A failing collector leaves its gauges at their last values rather than failing the scrape.
    await Promise.all([...this.collectors].map((c) => Promise.resolve().then(c).catch(() => undefined)));
  }

  /** Prometheus text exposition format (runs the collectors first). */
  async exposition(): Promise<string> {
    await this.collect();
    let summaries = '';
    const now = Date.now();
    for (const [name, instrument] of this.metrics) {
      if (instrument.type === 'summary') summaries += summaryExposition(name, instrument.help, instrument.data.series.values(), this.commonLabels, now);
      else this.syncRegistration(name, instrument);
    }
    return (await this.registry.metrics()) + summaries;
  }

  private register(name: string, help: string, type: 'counter' | 'gauge'): SeriesMap<Series> {
    const existing = this.metrics.get(name);
    if (existing !== undefined) {
      if (existing.type !== type) throw new Error(`metric ${name} is already registered as a ${existing.type}`);
      return existing.data as SeriesMap<Series>;
    }
    const data = new SeriesMap(newSeries);
    this.metrics.set(name, { type, help, data, labelNames: undefined });
    return data;
  }

  /**
   * Instruments learn their label names from use, while prom-client fixes them at construction:
   * (re)create the prom-client metric whenever the set of label names in use has changed. Its
   * collect callback copies the current values at scrape time.
   */
  private syncRegistration(name: string, instrument: Extract<Instrument, { type: 'counter' | 'gauge' }>): void {
    const names = instrument.data.labelNames();
    const labelNames = names.join(',');
    if (instrument.labelNames === labelNames) return;
    if (instrument.labelNames !== undefined) this.registry.removeSingleMetric(name);
    instrument.labelNames = labelNames;
    const data = instrument.data;
    const configuration = { name, help: instrument.help, labelNames: names, registers: [this.registry] };
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
