import { inject, injectable } from 'inversify';
import { type Identity, formatIdentity, sameIdentity } from '../../domain/identity/identity.js';
import type { JsonValue } from '../../domain/twins/json.js';
import { Clock, type TimerHandle } from '../ports/clock.js';
import { Logger } from '../ports/logger.js';
import { RandomSource } from '../ports/random-source.js';
import { ClientDirectory } from './client-directory.js';

/** A direct method's outcome: the client's status and payload, or 404 (not connected) / 504 (timeout). */
export interface MethodResult {
  readonly status: number;
  readonly payload: JsonValue;
  /** True when the hub answered (not connected, timeout, bad request), not the client. */
  readonly fromHub?: boolean;
}

interface PendingCall {
  readonly identity: Identity;
  readonly resolve: (result: MethodResult) => void;
  readonly timer: TimerHandle;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** IoT Hub's default and maximum method response timeouts (seconds 30 and 300). */
export const DEFAULT_METHOD_TIMEOUT_MS = 30_000;
export const MAX_METHOD_TIMEOUT_MS = 300_000;

/**
 * Direct methods to connected devices and modules (iotedge-semantics.md §7.3: 404 when the client
 * is offline or not listening, 504 on timeout). The request id correlates the response, which the
 * protocol head hands to `handleResponse`.
 */
@injectable()
export class MethodService {
  private readonly pending = new Map<string, PendingCall>();
  private readonly log: Logger;

  constructor(
    @inject(ClientDirectory) private readonly clients: ClientDirectory,
    @inject(Clock) private readonly clock: Clock,
    @inject(RandomSource) private readonly random: RandomSource,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child({ component: 'methods' });
  }

  /**
   * Invokes `methodName` on `identity`. `payload` is sent as JSON (`null` when absent: the SDK
   * answers an empty body with 400, iot-sdk-protocol.md §1.6). Never rejects.
   */
  invoke(identity: Identity, methodName: string, payload: JsonValue | undefined, timeoutMs = DEFAULT_METHOD_TIMEOUT_MS): Promise<MethodResult> {
    const channel = this.clients.get(identity);
    if (channel === undefined || !channel.has('methods')) {
      return Promise.resolve({ status: 404, fromHub: true, payload: { errorCode: 404103, message: `${formatIdentity(identity)} is not connected or does not listen for direct methods` } });
    }
    const requestId = this.random.uuid();
    return new Promise<MethodResult>((resolve) => {
      const timer = this.clock.schedule(Math.min(Math.max(timeoutMs, 0), MAX_METHOD_TIMEOUT_MS), () => {
        if (this.pending.delete(requestId)) {
          resolve({ status: 504, fromHub: true, payload: { errorCode: 504101, message: `${formatIdentity(identity)} did not answer ${methodName} within ${timeoutMs} ms` } });
        }
      });
      this.pending.set(requestId, { identity, resolve, timer });
      try {
        channel.sendMethodRequest(methodName, requestId, encoder.encode(JSON.stringify(payload ?? null)));
      } catch (error) {
        this.pending.delete(requestId);
        timer.cancel();
        resolve({ status: 400, fromHub: true, payload: { errorCode: 400027, message: error instanceof Error ? error.message : String(error) } });
      }
    });
  }

  /** A client's response (`$iothub/methods/res/<status>/?$rid=`). Unknown or foreign request ids are ignored. */
  handleResponse(from: Identity, requestId: string, status: number, body: Uint8Array): void {
    const call = this.pending.get(requestId);
    if (call === undefined || !sameIdentity(call.identity, from)) {
      this.log.debug('method response without a pending request', { identity: formatIdentity(from), requestId });
      return;
    }
    this.pending.delete(requestId);
    call.timer.cancel();
    let payload: JsonValue = null;
    const text = decoder.decode(body);
    if (text.length > 0) {
      try {
        payload = JSON.parse(text) as JsonValue;
      } catch {
        payload = text;
      }
    }
    call.resolve({ status, payload });
  }

  /** Calls in flight (for tests and metrics). */
  get inFlight(): number {
    return this.pending.size;
  }
}
