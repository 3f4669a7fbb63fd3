/** Sources tracked at most; refusals from further sources are summed under `OTHER_SOURCES`. */
const MAX_SOURCES = 10_000;
export const OTHER_SOURCES = 'other sources';

/** What one source had refused in one interval beyond the first of each kind. */
export interface RefusalSummary {
  readonly source: string;
  /** When its interval started (clock ms). */
  readonly since: number;
  /** Suppressed refusals by kind (`bad-signature`, `too-many-pending-from-source`, ...). */
  readonly counts: Readonly<Record<string, number>>;
  readonly total: number;
}

interface SourceInterval {
  readonly since: number;
  readonly seen: Set<string>;
  readonly suppressed: Map<string, number>;
}

/**
 * Collapses repeated refusals into one summary per source and interval: the first refusal of each
 * kind from a source in an interval is logged in full (`record` returns true), the rest are
 * counted and reported by `due` when the interval ends. A refusal storm from one address then
 * costs two lines per interval instead of hundreds per second. Pure: the caller passes the time.
 */
export class RefusalLog {
  private readonly sources = new Map<string, SourceInterval>();

  constructor(private readonly intervalMs: number) {}

  /** Records a refusal; true when the caller should log it in full (first of its kind from `source` this interval). */
  record(source: string, kind: string, now: number): boolean {
    const key = this.sources.has(source) || this.sources.size < MAX_SOURCES ? source : OTHER_SOURCES;
    let interval = this.sources.get(key);
    if (interval === undefined) {
      interval = { since: now, seen: new Set(), suppressed: new Map() };
      this.sources.set(key, interval);
    }
    if (!interval.seen.has(kind)) {
      interval.seen.add(kind);
      return true;
    }
    interval.suppressed.set(kind, (interval.suppressed.get(kind) ?? 0) + 1);
    return false;
  }

  /** Summaries of the sources whose interval ended by `now` and had suppressed refusals; those intervals end. */
  due(now: number): RefusalSummary[] {
    const out: RefusalSummary[] = [];
    // Intervals start in insertion order (time only moves forward): stop at the first still open.
    for (const [source, interval] of this.sources) {
      if (now - interval.since < this.intervalMs) break;
      this.sources.delete(source);
      if (interval.suppressed.size === 0) continue;
      const counts = Object.fromEntries(interval.suppressed);
      out.push({ source, since: interval.since, counts, total: [...interval.suppressed.values()].reduce((a, b) => a + b, 0) });
    }
    return out;
  }

  /** When the oldest open interval ends, undefined when none is open. */
  nextDue(): number | undefined {
    const oldest = this.sources.values().next();
    return oldest.done === true ? undefined : oldest.value.since + this.intervalMs;
  }
}
