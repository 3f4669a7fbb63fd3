import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { type Identity, IdentityError, formatIdentity, parseIdentity } from '../../domain/identity/identity.js';
import type { IdentityCredentials, IdentityStore } from '../../application/ports/identity-store.js';
import { ThumbprintError, type X509Authentication, normalizeThumbprint } from '../../domain/identity/x509.js';
import type { EdgeportConfig } from '../config/load-config.js';

type Output = { write(text: string): unknown };

export interface IdentityCommandDeps {
  /** Loads the configuration for `--config` (or reports problems, sets the exit code and returns undefined). */
  loadConfig(file: string | undefined): EdgeportConfig | undefined | Promise<EdgeportConfig | undefined>;
  /** Output (default: process.stdout). */
  out?: Output;
  /** Warnings and errors (default: process.stderr). */
  err?: Output;
}

/** Exit code for a bad identity argument (usage error, as for invalid configuration). */
const EXIT_USAGE = 2;
/** Exit code for a refused or failed operation (identity exists or is unknown, unusable data directory or key). */
const EXIT_FAILURE = 1;

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

/** The connection string of an X.509 identity: `x509=true` instead of a key (the SDK then takes `x509: { cert, key }`). */
export function x509ConnectionStringFor(config: EdgeportConfig, identity: Identity): string {
  return connectionStringFor(config, identity, '').replace(';SharedAccessKey=;', ';x509=true;');
}

interface X509AddOptions {
  x509?: boolean;
  thumbprint?: string;
  secondaryThumbprint?: string;
  ca?: string | boolean;
}

/** `--x509` with `--thumbprint` (and `--secondary-thumbprint`) or `--ca [file]`; undefined (exit code set) when the options are wrong. */
function x509Options(options: X509AddOptions, out: Output): X509Authentication | undefined {
  const fail = (text: string): undefined => {
    out.write(`${text}\n`);
    process.exitCode = EXIT_USAGE;
    return undefined;
  };
  const thumbprints = options.thumbprint !== undefined || options.secondaryThumbprint !== undefined;
  if (thumbprints === (options.ca !== undefined)) return fail('--x509 needs either --thumbprint <hex> [--secondary-thumbprint <hex>] (self-signed) or --ca [<ca.pem>] (CA-signed)');
  if (thumbprints) {
    try {
      return {
        type: 'selfSigned',
        ...(options.thumbprint !== undefined ? { primaryThumbprint: normalizeThumbprint(options.thumbprint) } : {}),
        ...(options.secondaryThumbprint !== undefined ? { secondaryThumbprint: normalizeThumbprint(options.secondaryThumbprint) } : {}),
      };
    } catch (error) {
      if (error instanceof ThumbprintError) return fail(error.message);
      throw error;
    }
  }
  if (typeof options.ca !== 'string') return { type: 'certificateAuthority' };
  let pem: string;
  try {
    pem = readFileSync(options.ca, 'utf8');
  } catch (error) {
    return fail(`cannot read the CA certificate ${options.ca}: ${(error as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) return fail(`${options.ca} holds no PEM certificate`);
  if (pem.includes('PRIVATE KEY')) return fail(`${options.ca} holds a private key: give the CA certificate only`);
  return { type: 'certificateAuthority', trustedCaPems: [pem] };
}

/** How an identity authenticates, for `list` and `show` (never key material). */
function authenticationOf(credentials: IdentityCredentials): string {
  const x509 = credentials.x509;
  if (x509 === undefined) return 'sas';
  return x509.type === 'selfSigned' ? 'x509-thumbprint' : 'x509-ca';
}

function printX509(out: Output, config: EdgeportConfig, identity: Identity, heading: string, auth: X509Authentication): void {
  const how =
    auth.type === 'selfSigned'
      ? `authentication: X.509 self-signed\nprimaryThumbprint: ${auth.primaryThumbprint ?? '(none)'}\nsecondaryThumbprint: ${auth.secondaryThumbprint ?? '(none)'}\n`
      : `authentication: X.509 CA-signed (certificate subject CN must be ${JSON.stringify(identity.kind === 'device' ? identity.deviceId : identity.moduleId)}; trusted CAs: hub.x509.trustedCaFiles${auth.trustedCaPems !== undefined ? ' and this identity\'s own CA' : ''})\n`;
  out.write(`${heading}\n${how}connectionString: ${x509ConnectionStringFor(config, identity)}\ntrust the edge CA: edgeport cert ca-path\n`);
}

/** A new IoT Hub style key: 32 random bytes, base64. */
function newKey(): string {
  return randomBytes(32).toString('base64');
}

/**
 * Opens the configured database (loading TypeORM and its driver only now) for one piece of work,
 * with the identity keys encrypted by the master key (`secrets.keyFile`). Prepares the data
 * directory as `edgeport run` does (mode 0700, database 0600) and reports an unusable one, or an
 * unreadable key, on `err` with exit code 1 (then resolves undefined).
 */
async function withStore<T>(config: EdgeportConfig, err: Output, work: (store: IdentityStore) => Promise<T>): Promise<T | undefined> {
  const [{ StateIdentityStore }, { createDataSource }, { TypeormStateStore }, { prepareDataDir, DataDirError }, { AesGcmSecretCipher }, { MasterKeyFile }, { SecretCipherError }, { ConsoleLogger }] =
    await Promise.all([
      import('../../application/hub/state-identity-store.js'),
      import('../../adapters/storage/create-data-source.js'),
      import('../../adapters/storage/typeorm-state-store.js'),
      import('../data-dir.js'),
      import('../../adapters/secrets/aes-gcm-secret-cipher.js'),
      import('../../adapters/secrets/master-key-file.js'),
      import('../../application/ports/secret-cipher.js'),
      import('./console-logger.js'),
    ]);
  const logger = new ConsoleLogger(err);
  const dataSource = createDataSource(config.storage.kind === 'postgres' ? { kind: 'postgres', url: config.storage.url } : { kind: 'sqlite', path: config.storage.path, sync: config.storage.sync });
  try {
    await prepareDataDir(config, (message) => logger.warn(message));
    const state = new TypeormStateStore(dataSource);
    await state.open();
    const store = new StateIdentityStore(state, new AesGcmSecretCipher(new MasterKeyFile(config.secrets.keyFile, logger)));
    const protection = await store.open();
    if (protection.encrypted > 0) logger.warn(`encrypted the keys of ${protection.encrypted} identities that were stored in plain text`);
    return await work(store);
  } catch (error) {
    if (!(error instanceof DataDirError) && !(error instanceof SecretCipherError)) throw error;
    err.write(`${error.message}\n`);
    process.exitCode = EXIT_FAILURE;
    return undefined;
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
  }
}

function identityArgument(text: string, out: Output): Identity | undefined {
  try {
    return parseIdentity(text);
  } catch (error) {
    if (!(error instanceof IdentityError)) throw error;
    out.write(`${error.message}\n`);
    process.exitCode = EXIT_USAGE;
    return undefined;
  }
}

/** `--primary-key`/`--secondary-key` values: base64, as IoT Hub keys are. */
function validKeyOptions(options: { primaryKey?: string; secondaryKey?: string }, out: Output): boolean {
  for (const [name, key] of [['--primary-key', options.primaryKey], ['--secondary-key', options.secondaryKey]] as const) {
    if (key !== undefined && (key.length === 0 || Buffer.from(key, 'base64').toString('base64') !== key)) {
      out.write(`${name} must be a base64 string (IoT Hub keys are 32 random bytes, base64)\n`);
      process.exitCode = EXIT_USAGE;
      return false;
    }
  }
  return true;
}

function printKeys(out: Output, config: EdgeportConfig, identity: Identity, heading: string, credentials: IdentityCredentials, secondaryConnectionString: boolean): void {
  out.write(
    `${heading}\n` +
      `primaryKey: ${credentials.primaryKey}\n` +
      `secondaryKey: ${credentials.secondaryKey}\n` +
      `connectionString: ${connectionStringFor(config, identity, credentials.primaryKey)}\n` +
      (secondaryConnectionString ? `secondaryConnectionString: ${connectionStringFor(config, identity, credentials.secondaryKey)}\n` : '') +
      `trust the edge CA: edgeport cert ca-path\n`,
  );
}

/**
 * `edgeport identity add|renew|list|remove`: the hub's local identity registry (devices and
 * modules it authenticates), stored in the configured database next to messages and twins, keys
 * encrypted with the master key. Works while `edgeport run` is running: the hub reads identities
 * at every CONNECT.
 */
export function registerIdentityCommands(program: Command, deps: IdentityCommandDeps): void {
  const out = deps.out ?? process.stdout;
  const err = deps.err ?? process.stderr;
  const configOption = () => new Option('-c, --config <file>', 'configuration file (TOML); default as for run');
  const identity = program.command('identity').description('devices and modules this hub authenticates (SAS keys)');

  identity
    .command('add')
    .description('register a leaf device (<deviceId>) or a module (<deviceId>/<moduleId>); prints its keys and connection string')
    .argument('<id>', '<deviceId> or <deviceId>/<moduleId>')
    .addOption(configOption())
    .option('--primary-key <base64>', 'use this primary key instead of a random one')
    .option('--secondary-key <base64>', 'use this secondary key instead of a random one')
    .option('--force', 'replace the keys of an identity that is already registered (its clients must then use the new keys)')
    .option('--x509', 'authenticate with a client certificate instead of SAS keys (with --thumbprint or --ca)')
    .option('--thumbprint <hex>', 'X.509 self-signed: primary thumbprint (SHA-1 or SHA-256 of the certificate, hex)')
    .option('--secondary-thumbprint <hex>', 'X.509 self-signed: secondary thumbprint')
    .option('--ca [file]', 'X.509 CA-signed: the chain must end at a CA of hub.x509.trustedCaFiles or at this CA certificate (PEM); subject CN = device id')
    .action(async (id: string, options: { config?: string; primaryKey?: string; secondaryKey?: string; force?: boolean } & X509AddOptions) => {
      const config = await deps.loadConfig(options.config);
      if (config === undefined) return;
      const target = identityArgument(id, out);
      if (target === undefined || !validKeyOptions(options, out)) return;
      const wantsX509 = options.x509 === true || options.thumbprint !== undefined || options.secondaryThumbprint !== undefined || options.ca !== undefined;
      if (wantsX509 && (options.primaryKey !== undefined || options.secondaryKey !== undefined)) {
        out.write('an X.509 identity has no keys: drop --primary-key/--secondary-key or --x509\n');
        process.exitCode = EXIT_USAGE;
        return;
      }
      if (wantsX509 && options.x509 !== true) {
        out.write('--thumbprint, --secondary-thumbprint and --ca need --x509\n');
        process.exitCode = EXIT_USAGE;
        return;
      }
      const x509 = wantsX509 ? x509Options(options, out) : undefined;
      if (wantsX509 && x509 === undefined) return;
      const credentials: IdentityCredentials = x509 !== undefined ? { primaryKey: '', secondaryKey: '', x509 } : { primaryKey: options.primaryKey ?? newKey(), secondaryKey: options.secondaryKey ?? newKey() };
      const outcome = await withStore(config, err, async (store) => {
        const existing = await store.get(target);
        if (existing !== undefined && options.force !== true) return 'exists' as const;
        await store.put(target, credentials);
        return existing === undefined ? ('added' as const) : ('replaced' as const);
      });
      if (outcome === undefined) return;
      const name = formatIdentity(target);
      if (outcome === 'exists') {
        err.write(
          `identity ${name} is already registered; its keys were not changed (replacing them would lock out clients that use them).\n` +
            `To rotate its keys: edgeport identity renew ${name} [--primary|--secondary]; to replace them anyway: edgeport identity add ${name} --force\n`,
        );
        process.exitCode = EXIT_FAILURE;
        return;
      }
      const heading = outcome === 'added' ? `identity ${name} registered` : `identity ${name} registered again: its previous ${x509 !== undefined ? 'credentials' : 'keys'} were replaced (--force)`;
      if (x509 !== undefined) printX509(out, config, target, heading, x509);
      else printKeys(out, config, target, heading, credentials, false);
    });

  identity
    .command('renew')
    .description('rotate the keys of a registered identity (both, or only --primary / --secondary); prints the new connection strings')
    .argument('<id>', '<deviceId> or <deviceId>/<moduleId>')
    .addOption(configOption())
    .option('--primary', 'renew the primary key')
    .option('--secondary', 'renew the secondary key')
    .action(async (id: string, options: { config?: string; primary?: boolean; secondary?: boolean }) => {
      const config = await deps.loadConfig(options.config);
      if (config === undefined) return;
      const target = identityArgument(id, out);
      if (target === undefined) return;
      // Neither flag: both keys. Rotating one at a time lets clients move to the other key first.
      const both = options.primary !== true && options.secondary !== true;
      const outcome = await withStore(config, err, async (store): Promise<{ renewed: IdentityCredentials | undefined }> => {
        const existing = await store.get(target);
        if (existing === undefined) return { renewed: undefined };
        if (existing.x509 !== undefined) return { renewed: existing };
        const next: IdentityCredentials = {
          ...existing,
          primaryKey: both || options.primary === true ? newKey() : existing.primaryKey,
          secondaryKey: both || options.secondary === true ? newKey() : existing.secondaryKey,
        };
        await store.put(target, next);
        return { renewed: next };
      });
      if (outcome === undefined) return;
      const { renewed } = outcome;
      const name = formatIdentity(target);
      if (renewed === undefined) {
        err.write(`identity ${name} is not registered; register it with: edgeport identity add ${name}\n`);
        process.exitCode = EXIT_FAILURE;
        return;
      }
      if (renewed.x509 !== undefined) {
        err.write(`identity ${name} authenticates with an X.509 certificate and has no keys; change its certificate with: edgeport identity add ${name} --x509 ... --force\n`);
        process.exitCode = EXIT_FAILURE;
        return;
      }
      const which = both ? 'primary and secondary keys' : [options.primary === true ? 'primary key' : '', options.secondary === true ? 'secondary key' : ''].filter(Boolean).join(' and ');
      printKeys(out, config, target, `identity ${name}: ${which} renewed (clients using a replaced key must switch to the new one)`, renewed, true);
    });

  identity
    .command('list')
    .description('list registered identities (no keys); X.509 identities carry a fourth column, x509-thumbprint or x509-ca')
    .addOption(configOption())
    .action(async (options: { config?: string }) => {
      const config = await deps.loadConfig(options.config);
      if (config === undefined) return;
      const records = await withStore(config, err, (store) => store.list());
      for (const r of records ?? []) {
        const auth = authenticationOf(r.credentials);
        out.write(`${formatIdentity(r.identity)}\t${r.identity.kind}\t${r.credentials.status ?? 'enabled'}${auth === 'sas' ? '' : `\t${auth}`}\n`);
      }
    });

  identity
    .command('show')
    .description('show one identity: kind, status and how it authenticates (never its keys)')
    .argument('<id>', '<deviceId> or <deviceId>/<moduleId>')
    .addOption(configOption())
    .action(async (id: string, options: { config?: string }) => {
      const config = await deps.loadConfig(options.config);
      if (config === undefined) return;
      const target = identityArgument(id, out);
      if (target === undefined) return;
      const credentials = await withStore(config, err, async (store) => (await store.get(target)) ?? null);
      if (credentials === undefined) return;
      const name = formatIdentity(target);
      if (credentials === null) {
        err.write(`identity ${name} is not registered\n`);
        process.exitCode = EXIT_FAILURE;
        return;
      }
      const x509 = credentials.x509;
      const lines = [`id: ${name}`, `kind: ${target.kind}`, `status: ${credentials.status ?? 'enabled'}`, `authentication: ${authenticationOf(credentials)}`];
      if (x509?.type === 'selfSigned') lines.push(`primaryThumbprint: ${x509.primaryThumbprint ?? '(none)'}`, `secondaryThumbprint: ${x509.secondaryThumbprint ?? '(none)'}`);
      if (x509?.type === 'certificateAuthority') lines.push(`ownTrustedCas: ${x509.trustedCaPems?.length ?? 0}`);
      out.write(`${lines.join('\n')}\n`);
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
      const removed = await withStore(config, err, (store) => store.remove(target));
      if (removed === undefined) return;
      out.write(removed ? `identity ${formatIdentity(target)} removed\n` : `identity ${formatIdentity(target)} was not registered\n`);
      if (!removed) process.exitCode = EXIT_FAILURE;
    });
}
