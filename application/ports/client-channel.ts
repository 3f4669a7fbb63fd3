import type { Identity } from '../../domain/identity/identity.js';
import type { Message } from '../../domain/messages/message.js';
import type { JsonObject } from '../../domain/twins/json.js';

/** What a connected client has asked to receive (MQTT subscriptions, AMQP receiver links). */
export type ClientFeature = 'inputs' | 'c2d' | 'methods' | 'twin-desired' | 'twin-responses';

/**
 * One authenticated client connection as the application sees it, whatever the protocol. A
 * protocol head registers one in the `ClientDirectory` when the client is connected and removes it
 * when the connection ends, so the twin, method and delivery services can reach clients without
 * knowing MQTT or AMQP.
 */
export interface ClientChannel {
  readonly identity: Identity;
  /** `mqtt`, `amqp`: for logs. */
  readonly protocol: string;
  /** Whether the client currently listens for `feature`. */
  has(feature: ClientFeature): boolean;
  /**
   * Sends a routed message to a module input; resolves once the client acknowledged it (MQTT
   * PUBACK), rejects when the connection ends first or the client refuses it.
   */
  sendInput(inputName: string, message: Message): Promise<void>;
  /**
   * Sends a cloud-to-device message to a device; resolves when the client accepted it (MQTT
   * PUBACK), rejects with `DeliveryError` when the connection ends first or the client refuses it
   * (`transient: false` for a refusal: the message is then dropped, not retried).
   */
  sendC2d(message: Message): Promise<void>;
  /** Pushes a desired-properties patch (body includes `$version`). Fire and forget (QoS 0). */
  sendDesiredPatch(patch: JsonObject, version: number): void;
  /** Sends a direct-method request; the response arrives through `MethodService.handleResponse`. */
  sendMethodRequest(methodName: string, requestId: string, payload: Uint8Array): void;
}
