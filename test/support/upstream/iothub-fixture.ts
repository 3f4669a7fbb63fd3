import { NodeSasSigner } from '../../../adapters/crypto/node-crypto.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { IotHubUpstream, type IotHubUpstreamOptions } from '../../../adapters/iothub/iothub-upstream.js';
import { parseDeviceConnectionString } from '../../../adapters/iothub/connection-string.js';
import type { IdentityStore } from '../../../application/ports/identity-store.js';
import type { Logger } from '../../../application/ports/logger.js';
import type { IotHubEmulator } from '../iothub-emulator/iothub-emulator.js';
import { SilentLogger } from '../pipeline-harness.js';

/** An `IotHubUpstream` for edge device `edgeId` of `emulator`, trusting its CA and connecting to its loopback ports. */
export function upstreamFor(emulator: IotHubEmulator, edgeId: string, identities: IdentityStore, extra: Partial<IotHubUpstreamOptions> = {}, logger: Logger = new SilentLogger()): IotHubUpstream {
  const connection = parseDeviceConnectionString(emulator.connectionString(edgeId).replace(/;GatewayHostName=[^;]*/, ''));
  return new IotHubUpstream(
    { connection, host: 'localhost', amqpPort: emulator.amqpPort, httpsPort: emulator.httpsPort, ca: emulator.ca, maxReconnectDelayMs: 1000, ...extra },
    { identities, signer: new NodeSasSigner(), clock: new SystemClock(), logger, random: Math.random },
  );
}
