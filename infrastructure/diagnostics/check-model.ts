/**
 * What `edgeport check` reports (docs/operations.md): each check gives one of four results with a
 * one-line reason and, unless it passed, the fix. Modeled on `iotedge check`, whose results are
 * OK / Warning / Error / Skipped (Fatal is Error here).
 */
export type CheckStatus = 'ok' | 'warning' | 'error' | 'skipped';

export interface CheckOutcome {
  status: CheckStatus;
  /** One line: what was found. */
  reason: string;
  /** One line: what to do about it (warnings and errors). */
  fix?: string;
}

export interface CheckResult extends CheckOutcome {
  /** Stable kebab-case id (`data-dir-writable`), the key in `--output json`. */
  id: string;
  /** What the check verifies, as a heading (`data directory is writable`). */
  description: string;
}

export const ok = (reason: string): CheckOutcome => ({ status: 'ok', reason });
export const warning = (reason: string, fix: string): CheckOutcome => ({ status: 'warning', reason, fix });
export const failure = (reason: string, fix: string): CheckOutcome => ({ status: 'error', reason, fix });
export const skipped = (reason: string): CheckOutcome => ({ status: 'skipped', reason });

/** The worst of several outcomes (error > warning > ok > skipped), reasons of that level joined. */
export function worst(outcomes: readonly CheckOutcome[], okReason: string): CheckOutcome {
  for (const status of ['error', 'warning'] as const) {
    const found = outcomes.filter((o) => o.status === status);
    if (found.length > 0) {
      const fixes = [...new Set(found.map((o) => o.fix).filter((f): f is string => f !== undefined))];
      return { status, reason: found.map((o) => o.reason).join('; '), fix: fixes.join('; ') };
    }
  }
  return ok(okReason);
}

/** One check of `edgeport check`. */
export interface Check<Context> {
  id: string;
  description: string;
  run(context: Context): Promise<CheckOutcome>;
}

/** `1.5 GB`, `300 MB`, `12 kB` (decimal units, as `df -H`). */
export function formatBytes(bytes: number): string {
  const units: Array<[number, string]> = [
    [1e12, 'TB'],
    [1e9, 'GB'],
    [1e6, 'MB'],
    [1e3, 'kB'],
  ];
  for (const [size, unit] of units) if (bytes >= size) return `${(bytes / size).toFixed(bytes >= size * 10 ? 0 : 1)} ${unit}`;
  return `${bytes} B`;
}

/** `3 days`, `5 h`, `40 min`, `12 s`. */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds >= 2 * 86_400) return `${Math.floor(seconds / 86_400)} days`;
  if (seconds >= 2 * 3600) return `${Math.floor(seconds / 3600)} h`;
  if (seconds >= 120) return `${Math.floor(seconds / 60)} min`;
  return `${seconds} s`;
}
