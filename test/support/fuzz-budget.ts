/** Seconds a fuzz test may run: EDGEPORT_FUZZ_SECONDS (default 3 in npm test, `npm run fuzz` sets more). */
export function fuzzSeconds(fallback = 3): number {
  const raw = Number(process.env['EDGEPORT_FUZZ_SECONDS']);
  return Number.isFinite(raw) && raw > 0 ? raw : fallback;
}
