import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SERVICES, dockerPing, skipUnless, type ServiceName } from '../../support/services.js';
import { connect } from 'node:net';

// Each service the integration tests rely on must answer. Skipped only when the service is absent
// AND EDGEPORT_REQUIRE_SERVICES is unset; `.ci/run` sets it, so there an absent service fails.

async function tcpConnects(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setTimeout(2000, () => { socket.destroy(); reject(new Error(`timeout connecting to ${host}:${port}`)); });
    socket.once('connect', () => { socket.destroy(); resolve(); });
    socket.once('error', reject);
  });
}

for (const name of ['postgres', 'rabbitmq', 'mosquitto'] as const satisfies readonly ServiceName[]) {
  const { host, port } = SERVICES[name];
  test(`${name} answers on ${host}:${port}`, { skip: await skipUnless(name) }, async () => {
    await tcpConnects(host, port);
  });
}

test(`docker answers GET /_ping on ${SERVICES.docker.socketPath}`, { skip: await skipUnless('docker') }, async () => {
  assert.equal(await dockerPing(SERVICES.docker.socketPath), true);
});
