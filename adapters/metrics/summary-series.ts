import type { MetricLabels } from '../../application/ports/metrics.js';

/** The quantiles Azure IoT Edge's summaries report (`doc/BuiltInMetrics.md`). */
export const SUMMARY_QUANTILES = [0.5, 0.9, 0.95, 0.99, 0.999, 0.9999] as const;

/** Observations kept per series for the quantiles (the most recent ones). */
export const SUMMARY_WINDOW = 1024;

/** Observations older than this no longer count for the quantiles (Azure: NaN after 10 min without one). */
export const SUMMARY_MAX_AGE_MS = 10 * 60_000;

/**
 * One summary series: count and sum since start, and the last `SUMMARY_WINDOW` observations in a
 * ring for the quantiles. `observe` is two stores and two additions (no clock read, no allocation),
 * because it runs for every delivered message; ageing is done when the series is read: each read
 * marks how many observations there were, and observations made before a mark older than
 * `SUMMARY_MAX_AGE_MS` are left out.
 */
export class SummarySeries {
  count = 0;
  sum = 0;
  private readonly ring = new Float64Array(SUMMARY_WINDOW);
  /** (count, time) at past reads, oldest first. */
  private marks: Array<{ count: number; at: number }> = [];

  constructor(readonly labels: MetricLabels) {}

  observe(value: number): void {
    this.ring[this.count % SUMMARY_WINDOW] = value;
    this.count++;
    this.sum += value;
  }

  /** The quantiles at `now` (epoch ms), NaN when no observation is recent enough. */
  quantiles(now: number): number[] {
    // The newest mark at least SUMMARY_MAX_AGE_MS old: observations before it are too old.
    let from = 0;
    let keep = 0;
    for (let i = 0; i < this.marks.length; i++) {
      if (now - this.marks[i]!.at < SUMMARY_MAX_AGE_MS) break;
      from = this.marks[i]!.count;
      keep = i;
    }
    this.marks = this.marks.slice(keep);
    this.marks.push({ count: this.count, at: now });
    const n = Math.min(SUMMARY_WINDOW, this.count - from);
    if (n <= 0) return SUMMARY_QUANTILES.map(() => Number.NaN);
    const window = new Float64Array(n);
    for (let i = 0; i < n; i++) window[i] = this.ring[(this.count - n + i) % SUMMARY_WINDOW]!;
    window.sort();
    return SUMMARY_QUANTILES.map((q) => window[Math.min(n - 1, Math.floor(q * n))]!);
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function labelText(labels: MetricLabels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** A summary in the Prometheus text format (quantile lines, `_sum`, `_count`). */
export function summaryExposition(name: string, help: string, series: Iterable<SummarySeries>, common: MetricLabels, now: number): string {
  let text = `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} summary\n`;
  for (const s of series) {
    const labels = { ...common, ...s.labels };
    const quantiles = s.quantiles(now);
    SUMMARY_QUANTILES.forEach((q, i) => {
      text += `${name}${labelText({ ...labels, quantile: String(q) })} ${formatValue(quantiles[i]!)}\n`;
    });
    text += `${name}_sum${labelText(labels)} ${formatValue(s.sum)}\n`;
    text += `${name}_count${labelText(labels)} ${s.count}\n`;
  }
  return text;
}
