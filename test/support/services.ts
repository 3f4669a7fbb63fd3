import { connect } from 'node:net';

/** Services on this machine that integration tests may need. */
export const SERVICES = {
  postgres: { host: '127.0.0.1', port: 5432 },
  rabbitmq: { host: '127.0.0.1', port: 5672 },
  mosquitto: { host: '127.0.0.1', port: 1883 },
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

/**
 * Decides whether a service-backed test runs. Returns `false` (the caller skips) only when the
 * service is absent AND `EDGEPORT_REQUIRE_SERVICES` is unset; with it set (as `.ci/run` does), an
 * absent service throws, so CI fails instead of silently skipping.
 *
 * Use: `test('...', { skip: !(await serviceAvailable('postgres')) && 'postgres absent' }, ...)`.
 */
export async function serviceAvailable(name: ServiceName): Promise<boolean> {
  const { host, port } = SERVICES[name];
  if (await reachable(host, port)) return true;
  if (process.env['EDGEPORT_REQUIRE_SERVICES']) {
    throw new Error(`${name} is required (EDGEPORT_REQUIRE_SERVICES is set) but nothing answers on ${host}:${port}`);
  }
  return false;
}

/** `skip` option for node:test: false when the service answers, a reason string when it may be skipped. */
export async function skipUnless(name: ServiceName): Promise<false | string> {
  return (await serviceAvailable(name)) ? false : `${name} not reachable and EDGEPORT_REQUIRE_SERVICES unset`;
}
