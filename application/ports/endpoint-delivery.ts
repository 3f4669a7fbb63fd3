import type { Message } from '../../domain/messages/message.js';
import type { Endpoint } from '../../domain/routing/index.js';

/**
 * A delivery failure. `transient` failures (connection lost, timeout, module not connected) are
 * retried with back-off; any other error drops the message (logged and counted).
 */
export class DeliveryError extends Error {
  readonly code = 'DELIVERY_FAILED';
  constructor(message: string, readonly transient: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeliveryError';
  }
}

/** Outcome of delivering a batch in order: the first `delivered` succeeded; `error` stopped the rest. */
export interface DeliveryResult {
  delivered: number;
  error?: unknown;
}

export type AvailabilityListener = (endpointId: string, available: boolean) => void;

/**
 * Sends stored messages to an endpoint: a module input (through the connected client) or the upstream.
 * The pump waits while `isAvailable` is false and resumes on an availability change.
 */
export abstract class EndpointDelivery {
  /** Whether the module is connected (module endpoints) or the upstream is up and configured. */
  abstract isAvailable(endpoint: Endpoint): boolean;
  /** Calls `listener` when an endpoint becomes available or unavailable; returns an unsubscribe function. */
  abstract onAvailabilityChange(listener: AvailabilityListener): () => void;
  /**
   * Delivers `messages` in order, stopping at the first failure. The messages are read-only: one
   * message routed to several endpoints may be the same object in each (fresh entries from memory).
   */
  abstract deliver(endpoint: Endpoint, messages: readonly Message[]): Promise<DeliveryResult>;
}
