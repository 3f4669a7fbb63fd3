import { ConfigError, loadConfig, type EdgeportConfig } from '../config/load-config.js';
import { packageVersion } from '../package-info.js';
import { CheckContext } from './check-context.js';
import { type Check, type CheckResult, failure, ok, skipped } from './check-model.js';
import type { CheckReport } from './check-report.js';
import { agentChecks } from './checks/index.js';

/** One check may take this long; then it is an error (a hung probe must not hang `check`). */
export const CHECK_TIMEOUT_MS = 30_000;

export interface RunChecksOptions {
  /** Configuration file as for `edgeport run` (`-c`), else `EDGEPORT_CONFIG`, `./edgeport.toml`, defaults. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  /** Checks to run after `config-valid` (default: all of `agentChecks`). */
  checks?: ReadonlyArray<Check<CheckContext>>;
}

async function runOne(check: Check<CheckContext>, context: CheckContext): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ id: check.id, description: check.description, ...failure(`the check did not finish within ${CHECK_TIMEOUT_MS / 1000} s`, 'run edgeport check again; if it persists, collect edgeport support-bundle') }), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      check.run(context).then(
        (outcome) => ({ id: check.id, description: check.description, ...outcome }),
        (error: unknown) => ({ id: check.id, description: check.description, ...failure(`the check failed: ${error instanceof Error ? error.message : String(error)}`, 'collect edgeport support-bundle and report it') }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `edgeport check`: validates the configuration (the first check), then runs every other check in
 * order against it; with an invalid configuration the others are skipped. Nothing is changed.
 */
export async function runChecks(options: RunChecksOptions = {}): Promise<CheckReport> {
  const now = options.now ?? Date.now;
  const report = (results: CheckResult[], runtimeRunning: boolean, configFile: string | null): CheckReport => ({ results, runtimeRunning, configFile, version: packageVersion(), checkedAt: new Date(now()).toISOString() });
  const checks = options.checks ?? agentChecks;
  const configCheck = { id: 'config-valid', description: 'configuration is valid' };
  let config: EdgeportConfig;
  try {
    config = loadConfig({ file: options.file, ...(options.env !== undefined ? { env: options.env } : {}) });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const problems = error.problems.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`)).join('; ');
    const results: CheckResult[] = [
      { ...configCheck, ...failure(problems, `fix the configuration (edgeport config check${error.file !== null ? ` ${error.file}` : ''} lists every problem)`) },
      ...checks.map((check) => ({ id: check.id, description: check.description, ...skipped('the configuration is invalid') })),
    ];
    return report(results, false, error.file);
  }
  const env = config.source.env.length > 0 ? ` with ${config.source.env.join(', ')}` : '';
  const results: CheckResult[] = [{ ...configCheck, ...ok(`${config.source.file ?? 'built-in defaults (no file)'}${env}`) }];
  const context = new CheckContext(config, now);
  for (const check of checks) results.push(await runOne(check, context));
  return report(results, (await context.runtime()).running, config.source.file);
}
