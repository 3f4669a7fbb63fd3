import type { MetricLabels } from '../../application/ports/metrics.js';

export interface Series {
  readonly labels: MetricLabels;
  value: number;
}

/** A canonical key of a label set (sorted names), so `{a, b}` and `{b, a}` are one series. */
export function labelKey(labels: MetricLabels | undefined): string {
  if (labels === undefined) return '';
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  if (keys.length === 1) return `${keys[0]}\u0001${labels[keys[0]!]}`;
  keys.sort();
  let key = '';
  for (const k of keys) key += `${k}\u0001${labels[k]}\u0002`;
  return key;
}

/**
 * One metric's series, keyed by `labelKey`. Plain maps keep the hot path cheap; `entry` hands out
 * the series object itself, so a bound instrument updates it without any lookup.
 */
export class SeriesMap<S extends { labels: MetricLabels }> {
  readonly series = new Map<string, S>();

  constructor(private readonly create: (labels: MetricLabels) => S) {}

  entry(labels: MetricLabels | undefined): S {
    const key = labelKey(labels);
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = this.create(labels === undefined ? {} : { ...labels });
      this.series.set(key, entry);
    }
    return entry;
  }

  /** Label names in use over all series, sorted. */
  labelNames(): string[] {
    const names = new Set<string>();
    for (const { labels } of this.series.values()) for (const label of Object.keys(labels)) names.add(label);
    return [...names].sort();
  }
}
