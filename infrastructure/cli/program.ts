/**
 * The CLI's command definitions. They stay cheap: this module and the `*-commands.ts` modules load
 * only commander, node core modules and small pure helpers; each action `await import`s what it runs
 * (configuration, certificates, storage, the runtime), so `edgeport version` or `--help` loads none of
 * it (docs/architecture.md, "CLI start-up"; test/e2e/cli/cli-imports.test.ts checks it).
 */
import { Command, Option } from 'commander';
import type { EdgeportConfig } from '../config/load-config.js';
import { packageVersion } from '../package-info.js';
import { registerAgentCommands } from './agent-commands.js';
import { registerCheckCommands } from './check-commands.js';
import { registerSetupCommands } from './setup-commands.js';
import { registerSupportBundleCommands } from './support-bundle-commands.js';
import { registerDeployCommands } from './deploy-commands.js';
import { registerHubCommands } from './hub-commands.js';
import { registerIdentityCommands } from './identity-commands.js';
import { registerViewCommands } from './view-commands.js';
import { CliError, loadOrThrow } from './management-client.js';

/** Exit codes: 0 ok, 1 runtime failure, 2 invalid configuration or usage. */
export const EXIT_CONFIG = 2;

/** Loads configuration or prints every problem and sets the exit code; returns undefined then. */
async function configOrReport(file: string | undefined): Promise<EdgeportConfig | undefined> {
  try {
    return await loadOrThrow(file);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = EXIT_CONFIG;
    return undefined;
  }
}

/**
 * `config check` with `agent.manifest` set: what the runtime will say about that manifest, as
 * warnings (the manifest can change while running, so it does not fail the configuration check).
 */
async function warnAboutManifest(config: EdgeportConfig): Promise<void> {
  const { checkManifest, readManifestFile } = await import('./manifest-check.js');
  const read = readManifestFile(config.agent.manifest);
  if (!read.ok) {
    process.stderr.write(`warning: agent.manifest: ${read.problem}\n`);
    return;
  }
  const check = checkManifest(read.text, { upstream: config.upstream.kind !== 'none' });
  for (const line of [...check.problems, ...check.warnings]) process.stderr.write(`warning: agent.manifest ${config.agent.manifest}: ${line}\n`);
}

export interface ProgramOptions {
  /**
   * Runs after `edgeport run` loaded its configuration and before the runtime starts: the
   * container entrypoint drops root privileges there (infrastructure/container/entrypoint.ts).
   */
  beforeRun?: (config: EdgeportConfig) => Promise<void>;
}

export function createProgram(options: ProgramOptions = {}): Command {
  const program = new Command('edgeport')
    .description('IoT edge runtime, wire-compatible with Azure IoT Edge: edge hub (MQTT, AMQP) and edge agent')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });

  const configOption = () => new Option('-c, --config <file>', 'configuration file (TOML); default: $EDGEPORT_CONFIG, else ./edgeport.toml if present, else built-in defaults');

  program
    .command('run')
    .description('run the edge runtime (hub and agent) until SIGINT or SIGTERM')
    .addOption(configOption())
    .addOption(new Option('--only <part>', 'run only one role').choices(['hub', 'agent']))
    .action(async (runOptions: { config?: string; only?: 'hub' | 'agent' }) => {
      const config = await configOrReport(runOptions.config);
      if (config === undefined) return;
      await options.beforeRun?.(config);
      const { runRuntime } = await import('../lifecycle/run-runtime.js');
      process.exitCode = await runRuntime(config, { only: runOptions.only });
    });

  const configCommand = program.command('config').description('inspect and validate configuration');
  configCommand
    .command('check')
    .description('validate a configuration file plus EDGEPORT_* overrides; lists every problem')
    .argument('[file]', 'file to check; default as for run')
    .action(async (file: string | undefined) => {
      const config = await configOrReport(file);
      if (config === undefined) return;
      const from = config.source.file ?? 'built-in defaults (no file)';
      const env = config.source.env.length > 0 ? ` with ${config.source.env.join(', ')}` : '';
      process.stdout.write(`configuration OK: ${from}${env}\n`);
      if (config.agent.manifest !== '') await warnAboutManifest(config);
    });

  program
    .command('version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`edgeport ${packageVersion()}\n`);
    });

  const cert = program.command('cert').description('edge certificates');
  cert
    .command('ca-path')
    .description('print the path of the edge CA certificate that clients must trust (creates it on first use)')
    .addOption(configOption())
    .action(async (options: { config?: string }) => {
      const config = await configOrReport(options.config);
      if (config === undefined) return;
      const { ensureEdgeCertificates } = await import('../certs/edge-certificates.js');
      const certificates = await ensureEdgeCertificates({ dir: config.certs.dir, hostname: config.hostname });
      process.stdout.write(`${certificates.caCertPath}\n`);
    });

  registerAgentCommands(program);
  registerIdentityCommands(program, { loadConfig: configOrReport });
  registerDeployCommands(program, { loadConfig: configOrReport });
  registerHubCommands(program);
  registerCheckCommands(program);
  registerSetupCommands(program);
  registerSupportBundleCommands(program);
  registerViewCommands(program);

  return program;
}
