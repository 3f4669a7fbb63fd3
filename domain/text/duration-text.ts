/**
 * Short texts for durations and rates, shared by the CLI views and the dashboard's pages (which
 * bundles this file: it imports nothing).
 */

/** `12s`, `4m 5s`, `3h 12m`, `2d 5h`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A rate per second: `0`, `2.5`, `340`. */
export function formatRate(perSecond: number): string {
  return perSecond === 0 ? '0' : perSecond < 10 ? perSecond.toFixed(1) : perSecond.toFixed(0);
}
