import type { Client, PublishPacket } from 'aedes';
import type { EventEmitter } from 'node:events';
import mqttPacket from 'mqtt-packet';
import { type Identity, type ModuleIdentity, formatIdentity } from '../../domain/identity/identity.js';
import type { Message } from '../../domain/messages/message.js';
import type { JsonObject } from '../../domain/twins/json.js';
import type { ClientChannel, ClientFeature } from '../../application/ports/client-channel.js';
import type { TimerHandle } from '../../application/ports/clock.js';
import { DeliveryError } from '../../application/ports/endpoint-delivery.js';
import { formatC2dTopic, formatDesiredPatchTopic, formatInputTopic, formatMethodRequestTopic } from './iothub-topics.js';

/**
 * brokerId of the QoS 0 packets the hub sends through aedes (twin responses, desired patches, method
 * requests); aedes de-duplicates per brokerId by increasing `brokerCounter`. `authorizeForward`
 * lets only these through: a client's own PUBLISH is never forwarded.
 */
export const HUB_BROKER_ID = 'edgeport-hub';

interface PendingAck {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** What aedes' `Client` holds that the typings do not list. */
interface AedesClientInternals {
  _nextId: number;
  _parser?: EventEmitter;
  conn: NodeJS.WritableStream & { cork?: () => void; uncork?: () => void };
  connected: boolean;
}

/** Where the QoS 0 counter lives: one per head, shared by its connections. */
export interface HubCounter {
  nextHubCounter(): number;
}

/**
 * One authenticated MQTT connection: the hub's channel to it (module inputs, C2D, twin and method
 * traffic).
 *
 * QoS 1 deliveries the hub owns (module inputs, C2D) are written straight to the connection with
 * mqtt-packet and matched to their PUBACK by packet identifier, not sent through aedes'
 * `client.publish`. aedes would store each one in its session persistence, defer it to a
 * `setImmediate` of its own (so a pump batch of 100 messages went out in 100 socket writes) and find
 * its PUBACK by a linear scan of that store. None of that serves the hub: redelivery after a
 * reconnect is the pump's (from the durable store), never aedes'. Written in one event-loop turn, a
 * batch leaves in one `writev` (mqtt-packet corks the socket until the next tick).
 */
export class MqttConnection implements ClientChannel {
  readonly protocol = 'mqtt';
  readonly features = new Map<string, ClientFeature>();
  /** QoS 1 deliveries waiting for their PUBACK, by packet identifier. */
  readonly pending = new Map<number, PendingAck>();
  ready = false;
  /** A SUBSCRIBE added features that the directory has not been told of yet (it is, after the SUBACK). */
  featuresChanged = false;
  closed = false;
  expiryTimer: TimerHandle | null = null;
  /** Stops the revocation checks of a certificate-authenticated connection. */
  untrack: (() => void) | undefined;
  /** The persisted subscription set of a `clean=false` session (filter -> QoS). */
  stored = new Map<string, number>();
  /** Session writes of this connection, in order. */
  saving: Promise<void> = Promise.resolve();
  private readonly internals: AedesClientInternals;

  constructor(
    readonly identity: Identity,
    private readonly client: Client,
    private readonly counter: HubCounter,
  ) {
    this.internals = client as unknown as AedesClientInternals;
  }

  has(feature: ClientFeature): boolean {
    for (const f of this.features.values()) if (f === feature) return true;
    return false;
  }

  sendInput(inputName: string, message: Message): Promise<void> {
    if (this.closed || this.identity.kind !== 'module') {
      return Promise.reject(new DeliveryError(`${formatIdentity(this.identity)} is not connected`, true));
    }
    let topic: string;
    try {
      topic = formatInputTopic(this.identity as ModuleIdentity, inputName, message);
    } catch (error) {
      // An input name no MQTT topic can carry: never deliverable, so not transient (the pump drops and logs it).
      return Promise.reject(new DeliveryError(`cannot deliver to input ${JSON.stringify(inputName)}: ${errorText(error)}`, false, { cause: error }));
    }
    return this.sendQos1(topic, message);
  }

  sendC2d(message: Message): Promise<void> {
    if (this.closed || this.identity.kind !== 'device') {
      return Promise.reject(new DeliveryError(`${formatIdentity(this.identity)} is not a connected device`, this.identity.kind === 'device'));
    }
    return this.sendQos1(formatC2dTopic(this.identity.deviceId, message), message);
  }

  /** Watches the client's parsed packets for PUBACKs of the hub's deliveries (before aedes handles them). */
  watchAcks(): void {
    this.internals._parser?.prependListener('packet', (packet: { cmd?: string; messageId?: number }) => {
      if (packet.cmd === 'puback' && packet.messageId !== undefined) this.acked(packet.messageId);
    });
  }

  /** A QoS 1 delivery the hub owns (module inputs, C2D): resolves on the client's PUBACK. */
  private sendQos1(topic: string, message: Message): Promise<void> {
    const client = this.internals;
    if (!client.connected) return Promise.reject(new DeliveryError(`${formatIdentity(this.identity)} is not connected`, true));
    const messageId = this.nextMessageId();
    if (messageId === undefined) return Promise.reject(new DeliveryError(`${formatIdentity(this.identity)} has 65535 deliveries unacknowledged`, true));
    return new Promise<void>((resolve, reject) => {
      this.pending.set(messageId, { resolve, reject });
      const payload = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
      try {
        // Backpressure needs no wait here: the pump bounds what is in flight per endpoint.
        mqttPacket.writeToStream({ cmd: 'publish', topic, payload, qos: 1, messageId, retain: false, dup: false }, client.conn);
      } catch (error) {
        this.pending.delete(messageId);
        reject(new DeliveryError(`delivery to ${formatIdentity(this.identity)} could not be written: ${errorText(error)}`, true, { cause: error }));
      }
    });
  }

  /** The next packet identifier not waiting for a PUBACK (aedes' own counter, so both draw from one space). */
  private nextMessageId(): number | undefined {
    const client = this.internals;
    for (let tries = 0; tries < 65535; tries++) {
      const id = client._nextId;
      client._nextId = id >= 65535 ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
    return undefined;
  }

  sendDesiredPatch(patch: JsonObject, version: number): void {
    this.publish0(formatDesiredPatchTopic(version), Buffer.from(JSON.stringify(patch)));
  }

  sendMethodRequest(methodName: string, requestId: string, payload: Uint8Array): void {
    this.publish0(formatMethodRequestTopic(methodName, requestId), Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  }

  publish0(topic: string, payload: Buffer): void {
    if (this.closed) return;
    const packet = { cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false, brokerId: HUB_BROKER_ID, brokerCounter: this.counter.nextHubCounter() } as unknown as PublishPacket;
    this.client.publish(packet, () => undefined);
  }

  /** A PUBACK for `messageId` arrived; one for no delivery of ours (a duplicate, or aedes' own) is ignored. */
  acked(messageId: number): void {
    const done = this.pending.get(messageId);
    if (done === undefined) return;
    this.pending.delete(messageId);
    done.resolve();
  }

  fail(error: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(new DeliveryError(`connection of ${formatIdentity(this.identity)} ended before it acknowledged: ${error.message}`, true, { cause: error }));
  }

  close(): void {
    this.client.close();
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
