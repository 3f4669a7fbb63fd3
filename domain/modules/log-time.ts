/**
 * `since`/`until` of `iotedge logs` and the `GetModuleLogs` method: Unix seconds (`1700000000`),
 * an RFC 3339 time (`2026-01-01T10:00:00Z`), or a duration back from now (`90s`, `10 minutes`,
 * `1 day`, `2h 30m`). Returns epoch ms, or `undefined` when the text is none of these.
 */
export function parseLogTime(text: string | number, now: number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) ? text * 1000 : undefined;
  const value = text.trim();
  if (value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const duration = parseDuration(value);
  if (duration !== undefined) return now - duration;
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

const UNIT_MS: Record<string, number> = {
  s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hr: 3_600_000, hrs: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  w: 604_800_000, week: 604_800_000, weeks: 604_800_000,
};

/** `1 day`, `2h 30m`, `90s` in milliseconds; `undefined` when not a duration. */
export function parseDuration(text: string): number | undefined {
  const parts = [...text.toLowerCase().matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('').replace(/\s+/g, '') !== text.toLowerCase().replace(/\s+/g, '')) return undefined;
  let total = 0;
  for (const [, amount, unit] of parts) {
    const ms = UNIT_MS[unit ?? ''];
    if (ms === undefined) return undefined;
    total += Number(amount) * ms;
  }
  return total;
}
