import type { ConnectionLimits } from './connection-limits.js';

/** Why a new connection was not admitted. */
export type AdmissionRefusal = 'too-many-connections' | 'too-many-from-source' | 'too-many-pending' | 'too-many-pending-from-source';

interface SourceCounts {
  open: number;
  pending: number;
}

/**
 * Counts connections, in total and per source address, and decides whether one more may be
 * accepted. A connection is *pending* from its admission until it authenticates, then *open*
 * until it closes; open counts include pending ones. Pure bookkeeping: no time, no I/O.
 */
export class ConnectionAdmission {
  private open = 0;
  private pending = 0;
  private readonly bySource = new Map<string, SourceCounts>();

  constructor(private readonly limits: ConnectionLimits) {}

  /** Admits a new (pending) connection from `source`, or says which limit it would exceed. */
  admit(source: string): AdmissionRefusal | undefined {
    const counts = this.bySource.get(source);
    const { maxConnections, maxConnectionsPerSource, maxPendingConnections, maxPendingPerSource } = this.limits;
    if (maxConnections > 0 && this.open >= maxConnections) return 'too-many-connections';
    if (maxPendingConnections > 0 && this.pending >= maxPendingConnections) return 'too-many-pending';
    if (counts !== undefined) {
      if (maxConnectionsPerSource > 0 && counts.open >= maxConnectionsPerSource) return 'too-many-from-source';
      if (maxPendingPerSource > 0 && counts.pending >= maxPendingPerSource) return 'too-many-pending-from-source';
    }
    this.open++;
    this.pending++;
    if (counts === undefined) this.bySource.set(source, { open: 1, pending: 1 });
    else {
      counts.open++;
      counts.pending++;
    }
    return undefined;
  }

  /** A pending connection from `source` authenticated. */
  authenticated(source: string): void {
    const counts = this.bySource.get(source);
    if (counts === undefined || counts.pending === 0) return;
    counts.pending--;
    this.pending--;
  }

  /** A connection from `source` closed (`pending`: it never authenticated). */
  closed(source: string, pending: boolean): void {
    const counts = this.bySource.get(source);
    if (counts === undefined) return;
    counts.open--;
    this.open--;
    if (pending && counts.pending > 0) {
      counts.pending--;
      this.pending--;
    }
    if (counts.open <= 0) this.bySource.delete(source);
  }

  /** Current counts (all sources, or one). */
  counts(source?: string): { open: number; pending: number } {
    if (source === undefined) return { open: this.open, pending: this.pending };
    const counts = this.bySource.get(source);
    return { open: counts?.open ?? 0, pending: counts?.pending ?? 0 };
  }
}
