import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { CliError, EXIT_USAGE, type Output, cliRunner, loadOrThrow } from './management-client.js';

export interface SupportBundleCommandDeps {
  out?: Output;
  err?: Output;
  now?: () => number;
}

/** `support-bundle-20261203T131500Z.tar.gz` in the working directory. */
export function defaultBundleName(now: number): string {
  return `support-bundle-${new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.tar.gz`;
}

/**
 * `edgeport support-bundle [--since 1h] [-o file]` (`iotedge support-bundle`): logs, configuration
 * and deployment (redacted), check results, metrics, module list and containers, versions, in one
 * `.tar.gz` to attach to a bug report (docs/operations.md lists what is in it).
 */
export function registerSupportBundleCommands(program: Command, deps: SupportBundleCommandDeps = {}): void {
  const out = deps.out ?? process.stdout;
  const err = deps.err ?? process.stderr;
  const now = deps.now ?? Date.now;
  const run = cliRunner(err);
  program
    .command('support-bundle')
    .description('collect logs, configuration (secrets redacted), check results and state into one .tar.gz for a bug report')
    .addOption(new Option('-c, --config <file>', 'configuration file (TOML); default as for run'))
    .option('--since <time>', 'only log lines since a duration ago (1h, 30m, "1 day"), an RFC 3339 time or Unix seconds (default: all)')
    .option('-o, --output <file>', 'the bundle to write (default: ./support-bundle-<time>.tar.gz)')
    .action((options: { config?: string; since?: string; output?: string }) =>
      run(async () => {
        const { parseLogTime } = await import('../../domain/modules/log-time.js');
        let since: number | undefined;
        if (options.since !== undefined) {
          since = parseLogTime(options.since, now());
          if (since === undefined) throw new CliError(`--since must be a duration such as 1h or "1 day", an RFC 3339 time or Unix seconds (got ${JSON.stringify(options.since)})`, EXIT_USAGE);
        }
        const config = await loadOrThrow(options.config);
        const output = resolve(options.output ?? defaultBundleName(now()));
        const { writeSupportBundle } = await import('../diagnostics/support-bundle.js');
        const files = await writeSupportBundle({ config, output, ...(since !== undefined ? { since } : {}), progress: (line) => err.write(`${line}\n`) });
        out.write(`${output} (${files.length} files)\n`);
      }),
    );
}
