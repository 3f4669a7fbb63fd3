import { MAX_MESSAGE_SIZE_BYTES } from '../../domain/messages/limits.js';

/**
 * Limits every protocol listener of the hub applies to its connections (`hub.limits.*`,
 * docs/security.md). Counts of 0 mean "no limit".
 */
export class ConnectionLimits {
  /** Open connections over all listeners (MQTT TLS/plain/WebSocket, AMQP TLS/WebSocket, HTTPS). */
  maxConnections = 10_000;
  /** Open connections from one source address (loopback modules all share 127.0.0.1). */
  maxConnectionsPerSource = 1_000;
  /** Connections not yet authenticated, over all listeners. */
  maxPendingConnections = 500;
  /** Connections not yet authenticated from one source address. */
  maxPendingPerSource = 100;
  /** A connection that has not authenticated this long after it was accepted is closed (TLS, protocol header, login). */
  handshakeTimeoutMs = 10_000;
  /** Failed logins from one source before it backs off (its new connections are refused for a growing time). */
  loginFailuresBeforeBackoff = 10;
  /** Longest back-off; a source quiet this long starts again from zero failures. */
  loginBackoffMaxMs = 60_000;
  /** Refusals beyond the first of a kind are summed into one summary line per source this often. */
  logSummaryIntervalMs = 10_000;
  /**
   * Largest protocol unit (MQTT packet, AMQP frame or delivery) before a connection is
   * authenticated: the largest SDK CONNECT measured is 1.5 KB (257-character client id, IoT Hub
   * user name with model id and product info, SAS token), a CBS put-token about 0.6 KB.
   */
  preAuthPacketBytes = 8 * 1024;
  /** Largest MQTT packet or AMQP delivery after authentication: IoT Hub's 256 KB message plus room for the topic or AMQP headers. */
  maxPacketBytes = MAX_MESSAGE_SIZE_BYTES + 64 * 1024;

  constructor(overrides: Partial<ConnectionLimits> = {}) {
    Object.assign(this, overrides);
  }
}
