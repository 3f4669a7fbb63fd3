import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type EdgeportConfig } from '../config/load-config.js';
import { ensureEdgeCertificates } from '../certs/edge-certificates.js';
import { runRuntime } from '../lifecycle/run-runtime.js';
import { packageVersion } from '../package-info.js';
import { registerAgentCommands } from './agent-commands.js';
import { registerDeployCommands } from './deploy-commands.js';
import { registerHubCommands } from './hub-commands.js';
import { registerIdentityCommands } from './identity-commands.js';

/** Exit codes: 0 ok, 1 runtime failure, 2 invalid configuration or usage. */
export const EXIT_CONFIG = 2;


/** Loads configuration or prints every problem and sets the exit code; returns undefined then. */
function configOrReport(file: string | undefined): EdgeportConfig | undefined {
  try {
    return loadConfig({ file });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = EXIT_CONFIG;
    return undefined;
  }
}

export function createProgram(): Command {
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
    .action(async (options: { config?: string; only?: 'hub' | 'agent' }) => {
      const config = configOrReport(options.config);
      if (config === undefined) return;
      process.exitCode = await runRuntime(config, { only: options.only });
    });

  const configCommand = program.command('config').description('inspect and validate configuration');
  configCommand
    .command('check')
    .description('validate a configuration file plus EDGEPORT_* overrides; lists every problem')
    .argument('[file]', 'file to check; default as for run')
    .action((file: string | undefined) => {
      const config = configOrReport(file);
      if (config === undefined) return;
      const from = config.source.file ?? 'built-in defaults (no file)';
      const env = config.source.env.length > 0 ? ` with ${config.source.env.join(', ')}` : '';
      process.stdout.write(`configuration OK: ${from}${env}\n`);
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
      const config = configOrReport(options.config);
      if (config === undefined) return;
      const certificates = await ensureEdgeCertificates({ dir: config.certs.dir, hostname: config.hostname });
      process.stdout.write(`${certificates.caCertPath}\n`);
    });

  registerAgentCommands(program);
  registerIdentityCommands(program, { loadConfig: configOrReport });
  registerDeployCommands(program, { loadConfig: configOrReport });
  registerHubCommands(program);

  return program;
}
