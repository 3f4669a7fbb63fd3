import confirm from '@inquirer/confirm';
import input from '@inquirer/input';
import password from '@inquirer/password';
import select from '@inquirer/select';
import { resolve } from 'node:path';
import { hostname as osHostname } from 'node:os';
import {
  DEFAULT_PORTS,
  type SetupAnswers,
  type SetupFlags,
  connectionStringProblem,
  defaultDataDir,
  defaultRegistryCredentialsFile,
  portProblem,
} from './setup-answers.js';

const required = (what: string) => (value: string) => (value.trim() === '' ? `${what} is required` : true);

/** The flag's value when given, else a choice among `[value, description]` (the first is the default). */
async function choose<T extends string>(given: string | undefined, message: string, choices: ReadonlyArray<readonly [T, string]>): Promise<T> {
  if (given !== undefined) return given as T;
  return await select({ message, choices: choices.map(([value, description]) => ({ name: value, value, description })) });
}

/**
 * Asks in the terminal what the flags did not give (a flag's value is taken as the answer).
 * Secrets (connection string, PostgreSQL URL, registry password) are typed masked and never echoed.
 */
export async function promptAnswers(flags: SetupFlags, configFile: string): Promise<SetupAnswers> {
  const mode = await choose<SetupAnswers['mode']>(flags.mode, 'How does this device run?', [
    ['standalone', 'no cloud: deployments from a local manifest (edgeport deploy)'],
    ['connected', 'to Azure IoT Hub with the edge device connection string'],
  ]);
  let connectionString: string | undefined;
  let deviceId = flags.deviceId ?? 'edgeport-device';
  if (mode === 'connected') {
    connectionString =
      flags.connectionString ??
      (await password({
        message: 'IoT Hub edge device connection string (HostName=...;DeviceId=...;SharedAccessKey=...):',
        mask: '*',
        validate: (value) => connectionStringProblem(value.trim()) ?? true,
      })).trim();
  } else if (flags.deviceId === undefined) {
    deviceId = await input({ message: 'Device id:', default: deviceId, validate: required('a device id') });
  }
  const hostname = flags.hostname ?? (await input({ message: 'Hostname that modules and leaf devices use to reach this device:', default: osHostname(), validate: required('a hostname') }));
  const dataDir = resolve(flags.dataDir ?? (await input({ message: 'Data directory (database, certificates, module logs):', default: defaultDataDir(configFile), validate: required('a directory') })));
  const storage = await choose<SetupAnswers['storage']>(flags.storage, 'Message store:', [
    ['sqlite', `a file under ${dataDir}`],
    ['postgres', 'a PostgreSQL database (URL next)'],
  ]);
  let storageUrl = flags.storageUrl;
  if (storage === 'postgres' && storageUrl === undefined) {
    storageUrl = await password({ message: 'PostgreSQL URL (postgres://user:password@host:5432/db):', mask: '*', validate: (value) => (/^postgres(ql)?:\/\/./.test(value.trim()) ? true : 'expected a postgres:// URL') });
  }
  const runtime = await choose<SetupAnswers['runtime']>(flags.runtime, 'Module runtime:', [
    ['auto', 'Docker modules when a Docker engine answers, process modules always'],
    ['docker', 'Docker modules only'],
    ['process', 'process modules only (no Docker)'],
  ]);
  const ports: SetupAnswers['ports'] = { ...DEFAULT_PORTS };
  const given = (['mqtt', 'amqp', 'https', 'metrics'] as const).filter((key) => flags[`${key}Port`] !== undefined);
  for (const key of given) ports[key] = Number(flags[`${key}Port`]);
  if (given.length === 0 && !(await confirm({ message: `Use the standard ports (MQTT ${DEFAULT_PORTS.mqtt}, AMQP ${DEFAULT_PORTS.amqp}, HTTPS ${DEFAULT_PORTS.https}, metrics ${DEFAULT_PORTS.metrics})?`, default: true }))) {
    for (const key of ['mqtt', 'amqp', 'https', 'metrics'] as const) {
      ports[key] = Number(await input({ message: `${key.toUpperCase()} port:`, default: String(ports[key]), validate: (value) => portProblem('the port', value.trim()) ?? true }));
    }
  }
  let registry: SetupAnswers['registry'];
  if (flags.registry !== undefined && flags.registryUsername !== undefined && flags.registryPassword !== undefined) {
    registry = { address: flags.registry, username: flags.registryUsername, password: flags.registryPassword };
  } else if (await confirm({ message: 'Add credentials for a private container registry?', default: flags.registry !== undefined })) {
    const address = flags.registry ?? (await input({ message: 'Registry address (myregistry.azurecr.io):', validate: required('an address') }));
    const username = flags.registryUsername ?? (await input({ message: 'User name:', validate: required('a user name') }));
    const secret = flags.registryPassword ?? (await password({ message: 'Password:', mask: '*', validate: required('a password') }));
    registry = { address: address.trim(), username: username.trim(), password: secret };
  }
  const answers: SetupAnswers = {
    mode,
    deviceId,
    hostname: hostname.trim(),
    dataDir,
    storage,
    runtime,
    ports,
    registryCredentialsFile: resolve(flags.registryCredentialsFile ?? defaultRegistryCredentialsFile(configFile)),
  };
  if (connectionString !== undefined) answers.connectionString = connectionString;
  if (storage === 'postgres' && storageUrl !== undefined) answers.storageUrl = storageUrl.trim();
  if (registry !== undefined) answers.registry = registry;
  return answers;
}
