/**
 * `npm run chaos [-- --short] [-- --only disk-full,postgres-restart]`: runs the chaos scenarios
 * (`test/chaos/*.chaos.ts`, docs/chaos-and-soak.md) one after another with node's test runner, so
 * they never compete with each other for the machine. `--short` (CI) runs each in its bounded
 * short form. They are not `*.test.ts` files: `npm test` does not run them (its wall time matters).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ args: process.argv.slice(2), strict: true, options: { short: { type: 'boolean', default: false }, only: { type: 'string' } } });
const dir = fileURLToPath(new URL('.', import.meta.url));
const all = readdirSync(dir).filter((f) => f.endsWith('.chaos.js')).sort();
const wanted = values.only?.split(',').map((s) => s.trim()) ?? [];
const files = wanted.length === 0 ? all : all.filter((f) => wanted.includes(f.replace(/\.chaos\.js$/, '')));
if (files.length === 0) {
  console.error(`no chaos scenario matches --only ${values.only ?? ''} (have: ${all.map((f) => f.replace(/\.chaos\.js$/, '')).join(', ')})`);
  process.exit(2);
}
const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...files.map((f) => join(dir, f))], {
  stdio: 'inherit',
  env: { ...process.env, EDGEPORT_CHAOS_SHORT: values.short ? '1' : '' },
});
child.on('exit', (code, signal) => process.exit(code ?? (signal !== null ? 1 : 0)));
