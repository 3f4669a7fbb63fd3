import { join, resolve } from 'node:path';
import { readRotatedLog, rotatedFiles } from '../../adapters/process/rotating-log.js';
import { logFileName } from '../../adapters/process/process-module-runtime.js';
import type { LogLine } from '../../application/ports/module-runtime.js';

export interface OfflineLogQuery {
  /** Last lines only (undefined: all). */
  readonly tail?: number;
  /** Epoch ms bounds: `since` inclusive, `until` exclusive. */
  readonly since?: number;
  readonly until?: number;
}

/** Where the process runtime keeps module `module`'s log files (`<dataDir>/modules/<name>.log[.N]`, as `edgeport run` composes it). */
export function processLogPath(dataDir: string, module: string): string {
  return join(resolve(dataDir), 'modules', logFileName(module));
}

/**
 * A process module's log lines read from its rotated files, for `edgeport logs` while no runtime
 * runs; `undefined` when the module has no log file (never ran here, or a Docker module).
 */
export function readStoppedModuleLogs(dataDir: string, module: string, query: OfflineLogQuery): LogLine[] | undefined {
  const path = processLogPath(dataDir, module);
  if (rotatedFiles(path).length === 0) return undefined;
  let lines = readRotatedLog(path);
  const { since, until, tail } = query;
  if (since !== undefined) lines = lines.filter((l) => l.time >= since);
  if (until !== undefined) lines = lines.filter((l) => l.time < until);
  if (tail !== undefined) lines = tail <= 0 ? [] : lines.slice(-tail);
  return lines;
}
