import type { Clock } from '../../application/ports/clock.js';
import type { SasSigner } from '../../application/ports/crypto.js';
import type { IdentityStore } from '../../application/ports/identity-store.js';
import type { Logger } from '../../application/ports/logger.js';
import type { DeviceConnectionString } from './connection-string.js';

export interface IotHubUpstreamOptions {
  readonly connection: DeviceConnectionString;
  /** Where to connect (default: `GatewayHostName`, else `HostName`); tests point it at the emulator. */
  readonly host?: string;
  readonly amqpPort?: number;
  readonly httpsPort?: number;
  /** Extra trusted CA (PEM) for the hub's TLS certificate. */
  readonly ca?: string;
  /**
   * X.509 device authentication (connection string `x509=true`): the device certificate (PEM,
   * chain allowed) and its private key, presented in the TLS handshake of the AMQP connection
   * (SASL EXTERNAL, no CBS token for the edge device) and of the HTTPS calls.
   */
  readonly x509?: { readonly cert: string; readonly key: string };
  /** SAS token lifetime (default 3600 s); renewed at 75 % of it. */
  readonly tokenTtlSeconds?: number;
  /** Twin, CBS and scope request timeout (edgeHub `CloudOperationTimeoutSecs` 20). */
  readonly operationTimeoutMs?: number;
  /** AMQP idle time-out advertised (heartbeats at half): how fast a dead connection is noticed (default 60 000). */
  readonly idleTimeoutMs?: number;
  /** Reconnect back-off cap (default 60 000). */
  readonly maxReconnectDelayMs?: number;
}

export interface IotHubUpstreamDeps {
  readonly identities: IdentityStore;
  readonly signer: SasSigner;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
}

/** The twin and methods API version IoT Hub is spoken to with. */
export const API_VERSION = '2021-04-12';

/** Defaults of `IotHubUpstreamOptions` (edgeHub's where it has one). */
export const IOTHUB_DEFAULTS = {
  amqpPort: 5671,
  httpsPort: 443,
  tokenTtlSeconds: 3600,
  operationTimeoutMs: 20_000,
  idleTimeoutMs: 60_000,
  maxReconnectDelayMs: 60_000,
} as const;

/** The host the hub's certificate and tokens name (`HostName`). */
export function hubHostOf(options: IotHubUpstreamOptions): string {
  return options.connection.hostName;
}

/** The host to connect to: the test override, else `GatewayHostName`, else `HostName`. */
export function connectHostOf(options: IotHubUpstreamOptions): string {
  return options.host ?? options.connection.gatewayHostName ?? options.connection.hostName;
}

export function operationTimeoutOf(options: IotHubUpstreamOptions): number {
  return options.operationTimeoutMs ?? IOTHUB_DEFAULTS.operationTimeoutMs;
}
