import { type Command, Option } from 'commander';
import type { Output } from './management-client.js';

export interface CheckCommandDeps {
  out?: Output;
}

/**
 * `edgeport check [-c file] [--output text|json]` (`iotedge check`): every check with ✓ / ‼ / ×
 * (and - for skipped), a one-line reason and the fix; exit 1 when any check is an error. Works with
 * the runtime running (it asks it over the management socket) or not (configuration and stored
 * state only), and says which. docs/operations.md lists the checks.
 */
export function registerCheckCommands(program: Command, deps: CheckCommandDeps = {}): void {
  const out = deps.out ?? process.stdout;
  program
    .command('check')
    .description('check the configuration, host and runtime for problems (✓ ok, ‼ warning, × error); exit 1 on any error')
    .addOption(new Option('-c, --config <file>', 'configuration file (TOML); default as for run'))
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (options: { config?: string; output: 'text' | 'json' }) => {
      const [{ runChecks }, { checkExitCode, formatCheckJson, formatCheckText }] = await Promise.all([import('../diagnostics/run-checks.js'), import('../diagnostics/check-report.js')]);
      const report = await runChecks({ file: options.config });
      out.write(options.output === 'json' ? formatCheckJson(report) : formatCheckText(report));
      process.exitCode = checkExitCode(report.results);
    });
}
