import type { CheckResult, CheckStatus } from './check-model.js';

/** The symbols of the text output: ✓ ok, ‼ warning, × error (Azure uses √ for ok), - skipped. */
export const CHECK_SYMBOLS: Readonly<Record<CheckStatus, string>> = { ok: '✓', warning: '‼', error: '×', skipped: '-' };

/** Azure's result names (`iotedge check -o json`). */
const JSON_RESULTS: Readonly<Record<CheckStatus, string>> = { ok: 'Ok', warning: 'Warning', error: 'Error', skipped: 'Skipped' };

export interface CheckReport {
  results: CheckResult[];
  /** Whether a runtime answered on the management socket. */
  runtimeRunning: boolean;
  configFile: string | null;
  version: string;
  checkedAt: string;
}

export function countByStatus(results: readonly CheckResult[]): Record<CheckStatus, number> {
  const counts: Record<CheckStatus, number> = { ok: 0, warning: 0, error: 0, skipped: 0 };
  for (const result of results) counts[result.status]++;
  return counts;
}

/** Exit code of `edgeport check`: 1 when any check failed, else 0 (warnings do not fail). */
export function checkExitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'error') ? 1 : 0;
}

/**
 * The text output: a header saying whether the runtime runs, one line per check
 * (`<symbol> <description> - <reason>`), the fix indented below a warning or error, a summary.
 */
export function formatCheckText(report: CheckReport): string {
  const lines = [
    `Edgeport ${report.version} check (${report.configFile ?? 'built-in defaults'}): ${
      report.runtimeRunning ? 'the runtime is running' : 'the runtime is not running; configuration and stored state checked'
    }`,
    '',
  ];
  for (const result of report.results) {
    lines.push(`${CHECK_SYMBOLS[result.status]} ${result.description} - ${result.reason}`);
    if (result.fix !== undefined && result.status !== 'ok' && result.status !== 'skipped') lines.push(`    fix: ${result.fix}`);
  }
  const counts = countByStatus(report.results);
  lines.push('', `${counts.ok} ok, ${counts.warning} warning${counts.warning === 1 ? '' : 's'}, ${counts.error} error${counts.error === 1 ? '' : 's'}, ${counts.skipped} skipped`);
  return `${lines.join('\n')}\n`;
}

/**
 * `--output json`, shaped like `iotedge check -o json`: `checks` maps each check id to
 * `{description, result, details, fix}` (result `Ok`/`Warning`/`Error`/`Skipped`, details the
 * reason), and `additional_info` says what was checked.
 */
export function formatCheckJson(report: CheckReport): string {
  const checks: Record<string, Record<string, string>> = {};
  for (const result of report.results) {
    checks[result.id] = { description: result.description, result: JSON_RESULTS[result.status], details: result.reason, ...(result.fix !== undefined ? { fix: result.fix } : {}) };
  }
  const document = {
    checks,
    additional_info: {
      edgeport_version: report.version,
      config_file: report.configFile,
      runtime_running: report.runtimeRunning,
      checked_at: report.checkedAt,
    },
    summary: countByStatus(report.results),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
