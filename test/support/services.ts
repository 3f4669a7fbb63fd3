import { request } from 'node:http';
import { connect } from 'node:net';

/** Services on this machine that integration tests may need. */
export const SERVICES = {
  postgres: { host: '127.0.0.1', port: 5432 },
  rabbitmq: { host: '127.0.0.1', port: 5672 },
  mosquitto: { host: '127.0.0.1', port: 1883 },
  /** The Docker Engine API on its unix socket; probed with `GET /_ping`, which answers `OK`. */
  docker: { socketPath: process.env['DOCKER_SOCKET'] ?? '/var/run/docker.sock' },
} as const;

export type ServiceName = keyof typeof SERVICES;

async function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when the Docker daemon answers `GET /_ping` with `OK` on its unix socket. */
export async function dockerPing(socketPath: string, timeoutMs = 2000): Promise<boolean> {
  return await new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      resolve(ok);
    };
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => done(res.statusCode === 200 && body.trim() === 'OK'));
      res.on('error', () => done(false));
    });
    req.on('timeout', () => { req.destroy(); done(false); });
    req.on('error', () => done(false));
    req.end();
  });
}

function describe(name: ServiceName): string {
  const service = SERVICES[name];
  return 'socketPath' in service ? `${service.socketPath} (GET /_ping)` : `${service.host}:${service.port}`;
}

async function answers(name: ServiceName): Promise<boolean> {
  const service = SERVICES[name];
  if ('socketPath' in service) return await dockerPing(service.socketPath);
  return await reachable(service.host, service.port);
}

/**
 * Decides whether a service-backed test runs. Returns `false` (the caller skips) only when the
 * service is absent AND `EDGEPORT_REQUIRE_SERVICES` is unset; with it set (as `.ci/run` does), an
 * absent service throws, so CI fails instead of silently skipping.
 *
 * Use: `test('...', { skip: !(await serviceAvailable('postgres')) && 'postgres absent' }, ...)`.
 */
export async function serviceAvailable(name: ServiceName): Promise<boolean> {
  if (await answers(name)) return true;
  if (process.env['EDGEPORT_REQUIRE_SERVICES']) {
    throw new Error(`${name} is required (EDGEPORT_REQUIRE_SERVICES is set) but nothing answers on ${describe(name)}`);
  }
  return false;
}

/** `skip` option for node:test: false when the service answers, a reason string when it may be skipped. */
export async function skipUnless(name: ServiceName): Promise<false | string> {
  return (await serviceAvailable(name)) ? false : `${name} not reachable and EDGEPORT_REQUIRE_SERVICES unset`;
}
