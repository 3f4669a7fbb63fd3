import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fuzzRuns, fuzzSeconds } from '../support/fuzz-budget.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/fuzz/', import.meta.url));

/**
 * The inputs a fuzz target once failed on, replayed by its test before it searches again:
 * `test/fixtures/fuzz/<target>/<name>.json` holding `{ "found": "what broke and the fix", "input": ... }`
 * (byte inputs as base64 strings).
 */
export function fuzzFixtures<T>(target: string): Array<{ name: string; found: string; input: T }> {
  const dir = join(FIXTURES, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const fixture = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { found: string; input: T };
      return { name: f, found: fixture.found, input: fixture.input };
    });
}

/**
 * fast-check parameters for one property of a fuzz target: `defaultRuns` scaled with the budget,
 * stopped at its `share` of `fuzzSeconds()` (a target file's properties share its budget).
 */
export function fuzzParameters(defaultRuns: number, share: number): { numRuns: number; interruptAfterTimeLimit: number; markInterruptAsFailure: false } {
  return { numRuns: fuzzRuns(defaultRuns), interruptAfterTimeLimit: Math.max(100, fuzzSeconds() * 1000 * share), markInterruptAsFailure: false };
}
