import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModuleSpec } from '../../../domain/modules/module-spec.js';
import { processSpec } from './specs.js';

/** A module running `node -e <script>`. */
export function nodeModule(name: string, script: string, overrides: Partial<ModuleSpec> = {}): ModuleSpec {
  return processSpec(name, { settings: { kind: 'process', command: process.execPath, args: ['-e', script] }, ...overrides });
}

/** Scripts for test modules. */
export const SCRIPTS = {
  /** Runs until stopped. */
  idle: 'setInterval(() => {}, 1000)',
  /** Prints, then exits with `code`. */
  crash: (code: number) => `console.log('starting'); console.error('boom'); process.exit(${code})`,
  /** Ignores SIGTERM. */
  stubborn: "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)",
};

/** A temp directory removed by `cleanup`. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `edgeport-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `check` every 10 ms until it returns true or `timeoutMs` passes. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
