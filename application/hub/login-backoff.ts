import type { ConnectionLimits } from './connection-limits.js';

/** First back-off once a source reaches the failure threshold; each further failure doubles it. */
const FIRST_BACKOFF_MS = 1_000;
/** Sources remembered at most (oldest forgotten first), so a spread of addresses cannot grow memory without bound. */
const MAX_SOURCES = 10_000;

interface SourceFailures {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

/**
 * Failed logins per source address and the back-off they earn: the first
 * `loginFailuresBeforeBackoff - 1` failures are free; the next blocks the source for 1 s, and each
 * failure after a block doubles it, up to `loginBackoffMaxMs`. A success from the source, or
 * `loginBackoffMaxMs` without a failure after its last failure and block, starts it from zero
 * again. Pure: the caller passes the time.
 */
export class LoginBackoff {
  private readonly sources = new Map<string, SourceFailures>();

  constructor(private readonly limits: ConnectionLimits) {}

  /** Records a failed login from `source`; returns the back-off it now has (0: none yet) and its failure count. */
  failed(source: string, now: number): { backoffMs: number; failures: number } {
    let entry = this.current(source, now);
    if (entry === undefined) {
      entry = { failures: 0, lastFailureAt: now, blockedUntil: 0 };
      if (this.sources.size >= MAX_SOURCES) this.sources.delete(this.sources.keys().next().value as string);
    }
    // Re-insert: the map's order is then least recently failed first (what MAX_SOURCES evicts).
    this.sources.delete(source);
    this.sources.set(source, entry);
    entry.failures++;
    entry.lastFailureAt = now;
    const threshold = Math.max(1, this.limits.loginFailuresBeforeBackoff);
    if (entry.failures < threshold) return { backoffMs: 0, failures: entry.failures };
    const doublings = Math.min(entry.failures - threshold, 30);
    const backoffMs = Math.min(FIRST_BACKOFF_MS * 2 ** doublings, this.limits.loginBackoffMaxMs);
    entry.blockedUntil = now + backoffMs;
    return { backoffMs, failures: entry.failures };
  }

  /** A login from `source` succeeded: it starts from zero. */
  succeeded(source: string): void {
    this.sources.delete(source);
  }

  /** How long `source` is still blocked (0: it may connect). */
  blockedFor(source: string, now: number): number {
    const entry = this.current(source, now);
    return entry === undefined ? 0 : Math.max(0, entry.blockedUntil - now);
  }

  /** Failures counted for `source` (0 when forgotten). */
  failures(source: string, now: number): number {
    return this.current(source, now)?.failures ?? 0;
  }

  /** The entry of `source`, forgetting it when it has been quiet long enough. */
  private current(source: string, now: number): SourceFailures | undefined {
    const entry = this.sources.get(source);
    if (entry === undefined) return undefined;
    if (now - Math.max(entry.lastFailureAt, entry.blockedUntil) > this.limits.loginBackoffMaxMs) {
      this.sources.delete(source);
      return undefined;
    }
    return entry;
  }
}
