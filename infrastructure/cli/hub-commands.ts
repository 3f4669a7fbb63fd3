import { type Command, Option } from 'commander';
import { IdentityError, parseIdentity } from '../../domain/identity/identity.js';
import { runtimeSockets } from '../composition/management-module.js';
import { CliError, EXIT_FAILURE, EXIT_USAGE, type Output, call, cliRunner, expectOk, loadOrThrow, readBody } from './management-client.js';

export interface HubCommandDeps {
  out?: Output;
  err?: Output;
}

/** `--property k=v` (repeatable): the value may contain `=`; the name must not be empty. */
export function parseProperty(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new CliError(`--property must be name=value (got ${JSON.stringify(text)})`, EXIT_USAGE);
  return { ...previous, [text.slice(0, eq)]: text.slice(eq + 1) };
}

function positiveSeconds(text: string, option: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) throw new CliError(`${option} must be a positive number of seconds (got ${JSON.stringify(text)})`, EXIT_USAGE);
  return value;
}

function jsonPayload(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliError(`--payload must be JSON, e.g. '{"interval": 5}' or '"text"' (${error instanceof Error ? error.message : String(error)})`, EXIT_USAGE);
  }
}

/**
 * `edgeport c2d send` and `edgeport method invoke`: hub operations through the running runtime's
 * management socket (`POST /devices/<d>/messages/devicebound`, `POST /twins/<d>[/modules/<m>]/methods`).
 */
export function registerHubCommands(program: Command, deps: HubCommandDeps = {}): void {
  const out = deps.out ?? process.stdout;
  const err = deps.err ?? process.stderr;
  const run = cliRunner(err);
  const configOption = () => new Option('-c, --config <file>', 'configuration file (TOML); default as for run');
  const socketOf = (file: string | undefined): string => runtimeSockets(loadOrThrow(file).dataDir).management;

  const c2d = program.command('c2d').description('cloud-to-device messages to leaf devices');
  c2d
    .command('send')
    .description('queue a cloud-to-device message for a leaf device (delivered when it is connected; IoT Hub limits: 50 queued, 1 h default TTL)')
    .argument('<deviceId>', 'the leaf device')
    .addOption(configOption())
    .option('--body <text>', 'message body (UTF-8 text)', '')
    .option('--property <name=value>', 'application property (repeatable)', (value: string, previous: Record<string, string>) => parseProperty(value, previous), {})
    .option('--message-id <id>', 'message id (default: a random UUID)')
    .option('--correlation-id <id>', 'correlation id')
    .option('--content-type <type>', 'content type, e.g. application/json')
    .option('--content-encoding <encoding>', 'content encoding, e.g. utf-8')
    .option('--ttl <seconds>', 'time to live in seconds (default 3600, at most 172800)')
    .addOption(new Option('--ack <kind>', 'feedback requested (sent as iothub-ack)').choices(['none', 'positive', 'negative', 'full']))
    .action((deviceId: string, options: { config?: string; body: string; property: Record<string, string>; messageId?: string; correlationId?: string; contentType?: string; contentEncoding?: string; ttl?: string; ack?: string }) =>
      run(async () => {
        const request: Record<string, unknown> = { body: options.body, properties: options.property };
        if (options.messageId !== undefined) request['messageId'] = options.messageId;
        if (options.correlationId !== undefined) request['correlationId'] = options.correlationId;
        if (options.contentType !== undefined) request['contentType'] = options.contentType;
        if (options.contentEncoding !== undefined) request['contentEncoding'] = options.contentEncoding;
        if (options.ttl !== undefined) request['ttlSeconds'] = positiveSeconds(options.ttl, '--ttl');
        if (options.ack !== undefined) request['ack'] = options.ack;
        const response = await call(socketOf(options.config), 'POST', `/devices/${encodeURIComponent(deviceId)}/messages/devicebound`, request);
        await expectOk(response);
        const answer = JSON.parse(await readBody(response)) as { messageId: string; queued: number };
        out.write(`queued message ${answer.messageId} for ${deviceId} (${answer.queued} queued)\n`);
      }),
    );

  const method = program.command('method').description('direct methods');
  method
    .command('invoke')
    .description('invoke a direct method on a connected device or module; prints the status and the JSON payload; exits 1 when the status is >= 400')
    .argument('<target>', '<deviceId> or <deviceId>/<moduleId>')
    .argument('<methodName>', 'method name')
    .addOption(configOption())
    .option('--payload <json>', 'method payload as JSON (default null)')
    .option('--timeout <seconds>', 'response timeout in seconds (default 30, at most 300)')
    .action((target: string, methodName: string, options: { config?: string; payload?: string; timeout?: string }) =>
      run(async () => {
        let identity;
        try {
          identity = parseIdentity(target);
        } catch (error) {
          if (error instanceof IdentityError) throw new CliError(`<target> must be <deviceId> or <deviceId>/<moduleId>: ${error.message}`, EXIT_USAGE);
          throw error;
        }
        const body: Record<string, unknown> = { methodName, payload: jsonPayload(options.payload) };
        if (options.timeout !== undefined) body['responseTimeoutInSeconds'] = positiveSeconds(options.timeout, '--timeout');
        const path = identity.kind === 'device' ? `/twins/${encodeURIComponent(identity.deviceId)}/methods` : `/twins/${encodeURIComponent(identity.deviceId)}/modules/${encodeURIComponent(identity.moduleId)}/methods`;
        const response = await call(socketOf(options.config), 'POST', path, body);
        await expectOk(response);
        const answer = JSON.parse(await readBody(response)) as { status: number; payload: unknown };
        out.write(`status: ${answer.status}\n${JSON.stringify(answer.payload ?? null, null, 2)}\n`);
        if (answer.status >= 400) process.exitCode = EXIT_FAILURE;
      }),
    );
}
