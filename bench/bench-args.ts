import { parseArgs } from 'node:util';

/** `--name=value` options of a benchmark, parsed once by node's own `parseArgs` (unknown names allowed). */
const { values } = parseArgs({ args: process.argv.slice(2), strict: false, allowPositionals: true });

/** The numeric option `--<name>=N`, or `fallback` when absent. */
export function arg(name: string, fallback: number): number {
  const value = values[name];
  return typeof value === 'string' ? Number(value) : fallback;
}
