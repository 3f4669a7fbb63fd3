import { connect as tlsConnect } from 'node:tls';
import { IdentityStore, type IdentityCredentials, type IdentityRecord } from '../../../application/ports/identity-store.js';
import type { Identity } from '../../../domain/identity/identity.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { NodeSasSigner } from '../../../adapters/crypto/node-crypto.js';
import { parseDeviceConnectionString } from '../../../adapters/iothub/connection-string.js';
import { IotHubUpstream } from '../../../adapters/iothub/iothub-upstream.js';
import { readCaFile, readUpstreamX509 } from '../../composition/upstream-ca-file.js';
import type { EdgeportConfig } from '../../config/load-config.js';
import { redactSecrets } from '../../logging/redact-secrets.js';
import { CollectingLogger } from '../collecting-logger.js';
import type { CheckContext } from '../check-context.js';
import { type Check, failure, ok } from '../check-model.js';

/** How long the upstream may take to accept the connection and the device's token. */
export const UPSTREAM_TIMEOUT_MS = 15_000;

/** The check authenticates the edge device only: no other identity is looked up. */
class NoIdentities extends IdentityStore {
  async get(_identity: Identity): Promise<IdentityCredentials | undefined> {
    return undefined;
  }
  async put(): Promise<void> {}
  async remove(): Promise<boolean> {
    return false;
  }
  async list(): Promise<IdentityRecord[]> {
    return [];
  }
}

/** Connects to IoT Hub as the edge device (AMQP, CBS put-token, or its X.509 certificate) and closes again. */
async function probeIotHub(config: EdgeportConfig): Promise<string | undefined> {
  const connection = parseDeviceConnectionString(config.upstream.connectionString);
  const logger = new CollectingLogger();
  const parent = config.upstream.kind === 'parent';
  const ca = parent ? readCaFile(config.upstream.trustBundleFile, 'upstream.trustBundleFile') : readCaFile(config.upstream.caFile);
  const host = parent ? config.upstream.parentHostname : config.upstream.host;
  const x509 = readUpstreamX509(config.upstream.x509CertFile, config.upstream.x509KeyFile);
  const upstream = new IotHubUpstream(
    {
      connection,
      ...(host !== '' ? { host } : {}),
      amqpPort: config.upstream.amqpPort,
      httpsPort: config.upstream.httpsPort,
      tokenTtlSeconds: 300,
      operationTimeoutMs: UPSTREAM_TIMEOUT_MS,
      ...(ca !== undefined ? { ca } : {}),
      ...(x509 !== undefined ? { x509 } : {}),
    },
    { identities: new NoIdentities(), signer: new NodeSasSigner(), clock: new SystemClock(), logger, random: Math.random },
  );
  const connected = new Promise<boolean>((resolve) => {
    upstream.onConnectionChange((up) => up && resolve(true));
    setTimeout(() => resolve(false), UPSTREAM_TIMEOUT_MS).unref();
  });
  await upstream.start({
    desiredPatch: async () => undefined,
    cloudToDevice: async () => Promise.reject(new Error('edgeport check takes no messages')),
    method: async () => ({ status: 501, payload: null }),
  });
  try {
    return (await connected) ? undefined : (logger.warnings.at(-1) ?? `no connection within ${UPSTREAM_TIMEOUT_MS / 1000} s`);
  } finally {
    await upstream.stop();
  }
}

/** A TLS handshake with the upstream's AMQP port (while the runtime holds the device's connection). */
function tlsReachable(host: string, port: number, ca: string | undefined): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, servername: host, timeout: 5000, ...(ca !== undefined ? { ca } : {}) }, () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('timeout', () => socket.destroy(new Error('no answer within 5 s')));
    socket.once('error', (error) => resolve(error.message));
  });
}

async function probeAmqp091(url: string): Promise<string | undefined> {
  const { connect } = await import('amqplib');
  try {
    const model = await connect(url, { timeout: 5000 });
    await model.close();
    return undefined;
  } catch (error) {
    return redactSecrets(error instanceof Error ? error.message : String(error));
  }
}

/**
 * Connected mode: the upstream answers and accepts this device's credentials. IoT Hub: while the
 * runtime is not running, a real AMQP connection and CBS token for the edge device; while it runs,
 * only a TLS handshake (a second connection as the same device would take over the runtime's).
 */
export const upstreamCheck: Check<CheckContext> = {
  id: 'upstream',
  description: 'upstream is reachable and accepts this device',
  async run(context) {
    const { upstream } = context.config;
    if (upstream.kind === 'none') return ok('standalone: no upstream configured (upstream.kind = "none")');
    if (upstream.kind === 'amqp091') {
      const problem = await probeAmqp091(upstream.url);
      return problem === undefined ? ok('the AMQP 0-9-1 broker accepted a connection with upstream.url') : failure(`cannot connect to the AMQP 0-9-1 broker: ${problem}`, 'check upstream.url (host, port, user, password, vhost) and that the broker answers');
    }
    const connection = parseDeviceConnectionString(upstream.connectionString);
    const parent = upstream.kind === 'parent';
    const configuredHost = parent ? upstream.parentHostname : upstream.host;
    const host = configuredHost !== '' ? configuredHost : (connection.gatewayHostName ?? connection.hostName);
    const caSetting = parent ? 'upstream.trustBundleFile' : 'upstream.caFile';
    const fix = `check upstream.connectionString (edgeport setup), that ${host}:${upstream.amqpPort} is reachable (firewall, proxy), and ${caSetting} for a private CA`;
    if ((await context.runtime()).running) {
      const problem = await tlsReachable(host, upstream.amqpPort, readCaFile(parent ? upstream.trustBundleFile : upstream.caFile, caSetting));
      return problem === undefined
        ? ok(`${host}:${upstream.amqpPort} answers TLS; the running runtime holds the device's connection (its log says whether it is connected)`)
        : failure(`${host}:${upstream.amqpPort} does not answer TLS: ${problem}`, fix);
    }
    const problem = await probeIotHub(context.config);
    return problem === undefined ? ok(`connected to ${connection.hostName} as ${connection.deviceId} and authenticated`) : failure(`cannot connect to ${connection.hostName} as ${connection.deviceId}: ${problem}`, fix);
  },
};
