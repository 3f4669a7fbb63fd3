import type { Identity } from '../../domain/identity/identity.js';
import type { Message } from '../../domain/messages/message.js';
import type { JsonObject, JsonValue } from '../../domain/twins/json.js';
import type { TwinDocument } from '../../domain/twins/twin-document.js';
import type { DeliveryResult } from './endpoint-delivery.js';
import type { IdentityRecord } from './identity-store.js';

/**
 * A failed cloud request. `transient` failures (not connected, timeout, throttled, link lost) are
 * retried later; others (the cloud refused the request: 400, 401, 404, too large) are not.
 */
export class UpstreamError extends Error {
  readonly code = 'UPSTREAM_FAILED';
  constructor(
    message: string,
    readonly transient: boolean,
    /** The cloud's status code when it answered (twin requests: 400, 404, ...). */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamError';
  }
}

/** What the edge asks the cloud to push for one identity. */
export type UpstreamFeature = 'desired' | 'methods' | 'c2d';

/** A direct method the cloud invokes on an identity behind the edge. */
export interface UpstreamMethodRequest {
  readonly name: string;
  /** The JSON payload (undefined when the body was empty). */
  readonly payload: JsonValue | undefined;
  /** The cloud's response timeout, when it said one. */
  readonly timeoutMs?: number;
}

export interface UpstreamMethodResponse {
  readonly status: number;
  readonly payload: JsonValue;
}

/** The application's side of what the cloud pushes; the adapter calls these. */
export interface UpstreamHandlers {
  /** A desired-properties patch (carrying `$version`) for `identity`. */
  desiredPatch(identity: Identity, patch: JsonObject): Promise<void>;
  /** A cloud-to-device message for a device; resolve = durably taken (the cloud may forget it), reject = give it back. */
  cloudToDevice(identity: Identity, message: Message): Promise<void>;
  /** A direct method for `identity`; never rejects. */
  method(identity: Identity, request: UpstreamMethodRequest): Promise<UpstreamMethodResponse>;
}

/** What an upstream can do beyond telemetry (a generic broker has no twins, methods or registry). */
export interface UpstreamCapabilities {
  readonly twins: boolean;
  readonly methods: boolean;
  readonly cloudToDevice: boolean;
  readonly deviceScope: boolean;
}

export type ConnectionListener = (connected: boolean) => void;

/**
 * The connection to the cloud (IoT Hub over one multiplexed AMQP connection, or a generic AMQP
 * 0-9-1 broker). The adapter connects in the background, reconnects with back-off and reports the
 * state; every request fails with a transient `UpstreamError` while disconnected, so the callers
 * (pump, twin sync) keep their work and retry on reconnect.
 */
export abstract class Upstream {
  /** `iothub`, `amqp091`: for logs. */
  abstract readonly kind: string;
  abstract readonly capabilities: UpstreamCapabilities;
  /** Starts connecting (never waits for the cloud); `handlers` receive what the cloud pushes. */
  abstract start(handlers: UpstreamHandlers): Promise<void>;
  abstract stop(): Promise<void>;
  abstract isConnected(): boolean;
  /** Calls `listener` on every connect and disconnect; returns the unsubscribe function. */
  abstract onConnectionChange(listener: ConnectionListener): () => void;
  /**
   * Sends `messages` of `identity` (device-to-cloud, in order). `delivered` is the prefix the
   * cloud accepted; `error` (a `DeliveryError`) says why the rest was not.
   */
  abstract sendEvents(identity: Identity, messages: readonly Message[]): Promise<DeliveryResult>;
  /** The identity's full twin as the cloud has it. Rejects with `UpstreamError`. */
  abstract getTwin(identity: Identity): Promise<TwinDocument>;
  /** Sends a reported-properties patch. Rejects with `UpstreamError`. */
  abstract updateReported(identity: Identity, patch: JsonObject): Promise<void>;
  /**
   * What the cloud should push for `identity` from now on (links opened or closed); an empty set
   * releases the identity. Remembered across reconnects. Rejects with `UpstreamError`.
   */
  abstract setFeatures(identity: Identity, features: ReadonlySet<UpstreamFeature>): Promise<void>;
  /** The device scope (the edge device, its modules and leaf devices) with keys. Rejects with `UpstreamError`. */
  abstract deviceScope(): Promise<IdentityRecord[]>;
  /**
   * Creates module `moduleId` of the edge device in the cloud registry if it does not exist (the
   * agent's job when it deploys a module). Rejects with `UpstreamError`.
   */
  abstract createModuleIdentity(moduleId: string): Promise<void>;
  /**
   * Nested edge: the device scope (modules and child devices, with keys) of `deviceId`, a child
   * edge device in this device's scope, asked for with this device's own credentials (on behalf
   * of the child, as Azure's `devicesAndModulesInTargetDeviceScope`). Rejects with `UpstreamError`;
   * an upstream without a registry refuses (not transient).
   */
  async targetDeviceScope(deviceId: string): Promise<IdentityRecord[]> {
    throw new UpstreamError(`the ${this.kind} upstream has no device scope for child device ${deviceId}`, false);
  }
  /** Nested edge: creates module `moduleId` of child edge device `deviceId` in the cloud registry unless it exists. */
  async createTargetModuleIdentity(deviceId: string, moduleId: string): Promise<void> {
    throw new UpstreamError(`the ${this.kind} upstream cannot create module ${deviceId}/${moduleId}`, false);
  }
}
