/**
 * How long the fuzz tests (`test/fuzz/<target>.test.ts`) run. `npm test` gives each 3 s;
 * `npm run fuzz` sets `EDGEPORT_FUZZ_SECONDS=120` (or the value you give it) for a longer search.
 */

const DEFAULT_SECONDS = 3;

/** Seconds each fuzz test may run: `EDGEPORT_FUZZ_SECONDS`, default 3. */
export function fuzzSeconds(): number {
  const raw = process.env['EDGEPORT_FUZZ_SECONDS'];
  if (raw === undefined || raw.trim() === '') return DEFAULT_SECONDS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`EDGEPORT_FUZZ_SECONDS must be a positive number of seconds, got ${JSON.stringify(raw)}`);
  return seconds;
}

/**
 * A run count for a property that makes `defaultRuns` runs within the default 3 s budget, scaled
 * with the budget (`npm run fuzz` runs 40 times as many). Give fast-check the time limit too
 * (`interruptAfterTimeLimit: fuzzSeconds() * 1000`), so a slow machine still stops in time.
 */
export function fuzzRuns(defaultRuns: number): number {
  return Math.max(1, Math.round((defaultRuns * fuzzSeconds()) / DEFAULT_SECONDS));
}
