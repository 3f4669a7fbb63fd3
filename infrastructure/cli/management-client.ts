import { request, type IncomingMessage } from 'node:http';
import type { EdgeportConfig } from '../config/load-config.js';
import { runtimeSockets } from '../runtime-sockets.js';

/** Exit codes as for the rest of the CLI: 1 failure (runtime not reachable, refused request), 2 usage. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export type Output = { write(text: string): unknown };

/** A CLI failure: its message is printed on stderr and the process exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = EXIT_FAILURE,
  ) {
    super(message);
  }
}

/** No runtime answers on the management socket (nothing listens, or no socket file). */
export class RuntimeNotRunningError extends CliError {
  constructor(readonly socketPath: string) {
    super(`no Edgeport runtime is running: cannot reach ${socketPath}`);
  }
}

/** Runs a command action: a `CliError` is printed and sets the exit code; anything else propagates. */
export function cliRunner(err: Output): (work: () => Promise<void>) => Promise<void> {
  return (work) =>
    work().catch((error: unknown) => {
      if (!(error instanceof CliError)) throw error;
      err.write(`${error.message}\n`);
      process.exitCode = error.exitCode;
    });
}

/** Loads the configuration (loading the config modules only now); a problem is a usage error. */
export async function loadOrThrow(file: string | undefined): Promise<EdgeportConfig> {
  const { ConfigError, loadConfig } = await import('../config/load-config.js');
  try {
    return loadConfig({ file });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, EXIT_USAGE);
    throw error;
  }
}

/** The running runtime's management socket, found through the configuration as for `edgeport run`. */
export async function managementSocket(file: string | undefined): Promise<string> {
  return runtimeSockets((await loadOrThrow(file)).dataDir).management;
}

/** One request on the management socket (with an optional JSON body); resolves with the response (body unread). */
export function call(socketPath: string, method: string, path: string, body?: unknown): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (text !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(text);
    }
    const req = request({ socketPath, method, path, headers }, resolve);
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') reject(new RuntimeNotRunningError(socketPath));
      else if (error.code === 'EACCES') reject(new CliError(`permission denied on ${socketPath}: run as the user or group of the Edgeport runtime`));
      else reject(new CliError(`cannot reach the Edgeport runtime at ${socketPath}: ${error.message}`));
    });
    req.end(text);
  });
}

export async function readBody(response: IncomingMessage): Promise<string> {
  let text = '';
  response.setEncoding('utf8');
  for await (const chunk of response) text += chunk as string;
  return text;
}

/** Throws the API's `{message}` for a non-2xx answer. */
export async function expectOk(response: IncomingMessage): Promise<void> {
  const status = response.statusCode ?? 0;
  if (status >= 200 && status < 300) return;
  const text = await readBody(response);
  let message = text;
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    // not JSON: show it as it is
  }
  throw new CliError(message === '' ? `the runtime answered ${status}` : message);
}
