/** Samples kept: one a second for a minute (the dashboard's sparklines), plus the one before. */
export const HISTORY_SAMPLES = 61;

/** The window a current rate is measured over. */
export const RATE_WINDOW_MS = 5_000;

interface Sample {
  at: number;
  totals: ReadonlyMap<string, number>;
}

/**
 * Counter totals sampled over time (off the message path: the counters only add, this reads them
 * once a second), turned into per-second rates when asked.
 */
export class RateHistory {
  private readonly samples: Sample[] = [];

  add(at: number, totals: ReadonlyMap<string, number>): void {
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && at <= last.at) return;
    this.samples.push({ at, totals });
    if (this.samples.length > HISTORY_SAMPLES) this.samples.shift();
  }

  /** The latest total of `key` (0 when never seen). */
  total(key: string): number {
    return this.samples[this.samples.length - 1]?.totals.get(key) ?? 0;
  }

  /** Per-second rate of `key` over the last `RATE_WINDOW_MS` (or what there is of it); 0 with fewer than two samples. */
  rate(key: string): number {
    const last = this.samples[this.samples.length - 1];
    if (last === undefined) return 0;
    let first = last;
    for (let i = this.samples.length - 2; i >= 0; i--) {
      first = this.samples[i]!;
      if (last.at - first.at >= RATE_WINDOW_MS) break;
    }
    if (first === last) return 0;
    return perSecond(first, last, key);
  }

  /** Per-second rates of `key` between consecutive samples, oldest first (at most `HISTORY_SAMPLES - 1`). */
  series(key: string): number[] {
    const rates: number[] = [];
    for (let i = 1; i < this.samples.length; i++) rates.push(perSecond(this.samples[i - 1]!, this.samples[i]!, key));
    return rates;
  }
}

function perSecond(from: Sample, to: Sample, key: string): number {
  const delta = (to.totals.get(key) ?? 0) - (from.totals.get(key) ?? 0);
  // A counter that went down was reset (a new route table or queue): no rate rather than a negative one.
  return delta <= 0 ? 0 : Math.round((delta * 1000 * 100) / (to.at - from.at)) / 100;
}
