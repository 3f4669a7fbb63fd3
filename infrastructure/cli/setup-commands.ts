import { type Command, Option } from 'commander';
import { type Output, cliRunner } from './management-client.js';

export interface SetupCommandDeps {
  out?: Output;
  err?: Output;
}

/**
 * `edgeport setup` (the preview's `azure-iot-edge-runtime-ctl.py --setup`, Azure's `iotedge
 * config`): standalone or connected, hostname, data directory, storage, ports, module runtime and
 * registry credentials; writes a configuration file `config check` accepts (docs/operations.md).
 */
export function registerSetupCommands(program: Command, deps: SetupCommandDeps = {}): void {
  const out = deps.out ?? process.stdout;
  const run = cliRunner(deps.err ?? process.stderr);
  program
    .command('setup')
    .description('write a configuration file: asks in a terminal, or takes flags with --non-interactive; refuses to overwrite without --force')
    .addOption(new Option('-c, --config <file>', 'configuration file to write; default: $EDGEPORT_CONFIG, else ./edgeport.toml'))
    .option('--non-interactive', 'take every answer from the flags (implied when standard input is not a terminal)')
    .option('-f, --force', 'overwrite an existing configuration or registry credentials file')
    .addOption(new Option('--mode <mode>', 'standalone (local manifest) or connected (IoT Hub)').choices(['standalone', 'connected']))
    .option('--connection-string <string>', 'IoT Hub edge device connection string (connected); "-" reads it from standard input')
    .option('--device-id <id>', 'edge device id (standalone; connected takes it from the connection string)')
    .option('--hostname <name>', 'name modules and leaf devices use to reach this device (default: this machine\'s host name)')
    .option('--data-dir <dir>', 'data directory (default: /var/lib/edgeport as root, else ./data beside the configuration)')
    .addOption(new Option('--storage <kind>', 'message store').choices(['sqlite', 'postgres']))
    .option('--storage-url <url>', 'PostgreSQL URL (postgres://user:password@host/db); "-" reads it from standard input')
    .addOption(new Option('--runtime <kind>', 'module runtime').choices(['auto', 'docker', 'process']))
    .option('--mqtt-port <port>', 'MQTT over TLS port (default 8883)')
    .option('--amqp-port <port>', 'AMQP over TLS port (default 5671)')
    .option('--https-port <port>', 'HTTPS port (default 443)')
    .option('--metrics-port <port>', 'metrics and /health port (default 9600)')
    .option('--registry <address>', 'private container registry address (with --registry-username and --registry-password)')
    .option('--registry-username <name>', 'registry user name')
    .option('--registry-password <password>', 'registry password; "-" reads it from standard input')
    .option('--registry-credentials-file <file>', 'where the registry credentials go, mode 0600 (default: registry-credentials.json beside the configuration)')
    .action((options: Record<string, string | boolean | undefined>) =>
      run(async () => {
        const { runSetup } = await import('../setup/run-setup.js');
        await runSetup(options, { out, stdin: process.stdin, terminal: process.stdin.isTTY === true && process.stdout.isTTY === true, env: process.env });
      }),
    );
}
