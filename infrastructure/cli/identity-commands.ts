import { randomBytes } from 'node:crypto';
import { type Command, Option } from 'commander';
import { type Identity, IdentityError, formatIdentity, parseIdentity } from '../../domain/identity/identity.js';
import type { IdentityStore } from '../../application/ports/identity-store.js';
import type { EdgeportConfig } from '../config/load-config.js';

export interface IdentityCommandDeps {
  /** Loads the configuration for `--config` (or reports problems, sets the exit code and returns undefined). */
  loadConfig(file: string | undefined): EdgeportConfig | undefined | Promise<EdgeportConfig | undefined>;
  /** Output (default: process.stdout). */
  out?: { write(text: string): unknown };
}

/** Exit code for a bad identity argument (usage error, as for invalid configuration). */
const EXIT_USAGE = 2;

/**
 * The connection string a client uses to reach this hub: `HostName` is the IoT hub (what SAS
 * tokens name), `GatewayHostName` this edge device (where the socket goes; a non-default MQTT port
 * is appended, which the SDK concatenates into its URI, iot-sdk-protocol.md §0).
 */
export function connectionStringFor(config: EdgeportConfig, identity: Identity, key: string): string {
  const ids = identity.kind === 'device' ? `DeviceId=${identity.deviceId}` : `DeviceId=${identity.deviceId};ModuleId=${identity.moduleId}`;
  const gateway = config.hub.mqtt.port === 8883 ? config.hostname : `${config.hostname}:${config.hub.mqtt.port}`;
  return `HostName=${config.iotHubHostname};${ids};SharedAccessKey=${key};GatewayHostName=${gateway}`;
}

/** Opens the configured database (loading TypeORM and its driver only now) for one piece of work. */
async function withStore<T>(config: EdgeportConfig, work: (store: IdentityStore) => Promise<T>): Promise<T> {
  const [{ StateIdentityStore }, { createDataSource }, { TypeormStateStore }] = await Promise.all([
    import('../../application/hub/state-identity-store.js'),
    import('../../adapters/storage/create-data-source.js'),
    import('../../adapters/storage/typeorm-state-store.js'),
  ]);
  const dataSource = createDataSource(config.storage.kind === 'postgres' ? { kind: 'postgres', url: config.storage.url } : { kind: 'sqlite', path: config.storage.path, sync: config.storage.sync });
  const state = new TypeormStateStore(dataSource);
  try {
    await state.open();
    return await work(new StateIdentityStore(state));
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
  }
}

function identityArgument(text: string, out: { write(text: string): unknown }): Identity | undefined {
  try {
    return parseIdentity(text);
  } catch (error) {
    if (!(error instanceof IdentityError)) throw error;
    out.write(`${error.message}\n`);
    process.exitCode = EXIT_USAGE;
    return undefined;
  }
}

/**
 * `edgeport identity add|list|remove`: the hub's local identity registry (devices and modules it
 * authenticates), stored in the configured database next to messages and twins. Works while
 * `edgeport run` is running: the hub reads identities at every CONNECT.
 */
export function registerIdentityCommands(program: Command, deps: IdentityCommandDeps): void {
  const out = deps.out ?? process.stdout;
  const configOption = () => new Option('-c, --config <file>', 'configuration file (TOML); default as for run');
  const identity = program.command('identity').description('devices and modules this hub authenticates (SAS keys)');

  identity
    .command('add')
    .description('register a leaf device (<deviceId>) or a module (<deviceId>/<moduleId>); prints its keys and connection string')
    .argument('<id>', '<deviceId> or <deviceId>/<moduleId>')
    .addOption(configOption())
    .option('--primary-key <base64>', 'use this primary key instead of a random one')
    .option('--secondary-key <base64>', 'use this secondary key instead of a random one')
    .action(async (id: string, options: { config?: string; primaryKey?: string; secondaryKey?: string }) => {
      const config = await deps.loadConfig(options.config);
      if (config === undefined) return;
      const target = identityArgument(id, out);
      if (target === undefined) return;
      for (const [name, key] of [['--primary-key', options.primaryKey], ['--secondary-key', options.secondaryKey]] as const) {
        if (key !== undefined && (key.length === 0 || Buffer.from(key, 'base64').toString('base64') !== key)) {
          out.write(`${name} must be a base64 string (IoT Hub keys are 32 random bytes, base64)\n`);
          process.exitCode = EXIT_USAGE;
          return;
        }
      }
      const primaryKey = options.primaryKey ?? randomBytes(32).toString('base64');
      const secondaryKey = options.secondaryKey ?? randomBytes(32).toString('base64');
      await withStore(config, (store) => store.put(target, { primaryKey, secondaryKey }));
      out.write(
        `identity ${formatIdentity(target)} registered\n` +
          `primaryKey: ${primaryKey}\n` +
          `secondaryKey: ${secondaryKey}\n` +
          `connectionString: ${connectionStringFor(config, target, primaryKey)}\n` +
          `trust the edge CA: edgeport cert ca-path\n`,
      );
    });

  identity
    .command('list')
    .description('list registered identities (no keys)')
    .addOption(configOption())
    .action(async (options: { config?: string }) => {
      const config = await deps.loadConfig(options.config);
      if (config === undefined) return;
      const records = await withStore(config, (store) => store.list());
      for (const r of records) out.write(`${formatIdentity(r.identity)}\t${r.identity.kind}\t${r.credentials.status ?? 'enabled'}\n`);
    });

  identity
    .command('remove')
    .description('remove an identity (its clients can no longer connect)')
    .argument('<id>', '<deviceId> or <deviceId>/<moduleId>')
    .addOption(configOption())
    .action(async (id: string, options: { config?: string }) => {
      const config = await deps.loadConfig(options.config);
      if (config === undefined) return;
      const target = identityArgument(id, out);
      if (target === undefined) return;
      const removed = await withStore(config, (store) => store.remove(target));
      out.write(removed ? `identity ${formatIdentity(target)} removed\n` : `identity ${formatIdentity(target)} was not registered\n`);
      if (!removed) process.exitCode = 1;
    });
}
