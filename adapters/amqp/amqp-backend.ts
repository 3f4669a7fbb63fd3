import type { Identity } from '../../domain/identity/identity.js';
import type { Message } from '../../domain/messages/message.js';
import type { JsonObject, JsonValue } from '../../domain/twins/json.js';
import type { ClientFeature } from '../../application/ports/client-channel.js';

/**
 * The contract between the AMQP protocol server core (`AmqpServer`: TLS, SASL, CBS, links,
 * credit, dispositions, per-identity authorization) and whatever answers IoT Hub device/module
 * operations behind it: the edge hub (`EdgeHubAmqpBackend`) or an IoT Hub stand-in in tests.
 * The core never routes, stores or keeps twins; the backend never sees an AMQP frame.
 *
 * Identities, messages and twin JSON are the domain's types. Message properties use the hub's
 * names: `systemProperties` `messageId`, `correlationId`, `contentType`, `contentEncoding`, `to`,
 * `userId`, `absolute-expiry-time`, `creationTime`, `outputName` (from `iothub-outputname`),
 * `inputName`, `dt-subject`, `iothub-interface-id`, `connectionDeviceId`, `connectionModuleId`;
 * `properties` are the application properties as strings.
 */
export interface AmqpBackend {
  /**
   * Checks a SAS token for `identity` (parsed from the CBS audience or the SASL PLAIN user name).
   * Never log `token`. A refusal's `description` goes to the client.
   */
  authenticate(request: AmqpAuthRequest): Promise<AmqpAuthResult>;
  /**
   * X.509: checks the client certificate of the connection's TLS handshake for `identity` (named
   * by the first link the identity attaches; no CBS token, wave2-facts.md §7). Without this method
   * certificate clients are refused. `expiresAtMs` is the certificate's notAfter.
   */
  authenticateCertificate?(request: AmqpCertificateRequest): Promise<AmqpAuthResult>;
  /** `client` authenticated on a connection (once per connection and identity; renewals do not call this). */
  clientConnected(client: AmqpClient): void;
  /** What `client` listens for (`client.has(...)`) changed: a receiver link opened or closed, desired updates on/off. */
  clientChanged(client: AmqpClient): void;
  /** `client` is gone: connection closed, token expired, or `client.close()`. Its pending sends are rejected. */
  clientDisconnected(client: AmqpClient, reason: string): void;
  /**
   * Telemetry or a module output (`systemProperties.outputName`) from `client`. Resolving settles
   * the delivery `accepted` (the client's send succeeds: resolve only once the message is safe);
   * rejecting settles it `rejected`, with the condition of an `AmqpRefusal` or `amqp:internal-error`.
   */
  receiveMessage(client: AmqpClient, message: Message): Promise<void>;
  /** Twin GET: reply `{ status: 200, body: { desired, reported }, version? }`. */
  getTwin(client: AmqpClient): Promise<TwinReply>;
  /** Twin reported-properties PATCH (`patch` is parsed JSON): reply `{ status: 204, version }`, or 400 with an error body. */
  patchReported(client: AmqpClient, patch: JsonValue): Promise<TwinReply>;
  /** A direct-method response from `client` for the request sent with `requestId`. */
  methodResponse(client: AmqpClient, requestId: string, status: number, payload: Uint8Array): void;
}

export interface AmqpAuthRequest {
  /** Who the client claims to be. */
  readonly identity: Identity;
  /** `SharedAccessSignature sr=...&sig=...&se=...`: a credential, never log it. */
  readonly token: string;
  /** CBS: the put-token `name` (the token's `sr`, URL-encoded). SASL PLAIN: the user name. */
  readonly audience: string;
  readonly via: 'cbs' | 'sasl-plain';
}

export interface AmqpCertificateRequest {
  readonly identity: Identity;
  /** The peer's chain, DER, leaf first (public material only). */
  readonly chain: readonly Uint8Array[];
  readonly connectionId: string;
}

export type AmqpAuthResult =
  | { readonly ok: true; readonly identity: Identity; readonly expiresAtMs: number }
  /** `status` is the CBS `status-code` (401 unauthorized, 404 unknown identity, 500 ...). */
  | {
      readonly ok: false;
      readonly status: number;
      /** Sent to the client and logged: never include the token. */
      readonly description: string;
      /** A short machine-readable reason for logs, e.g. `bad-signature`. */
      readonly reason?: string;
    };

/** A twin operation's answer: `status` and `version` go in message annotations, `body` as a JSON data section. */
export interface TwinReply {
  readonly status: number;
  readonly version?: number;
  readonly body?: JsonValue;
}

/**
 * An authenticated identity on one AMQP connection, as the core hands it to the backend. All
 * sends go out on that identity's links of that connection.
 */
export interface AmqpClient {
  readonly identity: Identity;
  /** Unique per connection, for logs and to tell two connections of one identity apart. */
  readonly connectionId: string;
  /** The client certificate chain it authenticated with (X.509), absent for SAS. */
  readonly certificateChain?: readonly Uint8Array[] | undefined;
  /** Whether a receiver link (C2D, inputs, methods, twin responses) is open, or desired updates are enabled. */
  has(feature: ClientFeature): boolean;
  /**
   * Cloud-to-device message on the `devicebound` link. Resolves when the client settles it
   * `accepted` (`complete`); rejects with `DeliveryError` on `rejected` (not transient), `released`
   * / `modified` (`abandon`, transient) or when the link or connection ends first (transient).
   */
  sendC2d(message: Message): Promise<void>;
  /** A message for module input `inputName` (`x-opt-input-name`); settles like `sendC2d`. */
  sendInput(inputName: string, message: Message): Promise<void>;
  /** Desired-properties patch (body includes `$version`) on the twin link, without correlation id. */
  sendDesiredPatch(patch: JsonObject, version: number): void;
  /** Direct-method request (`IoThub-methodname`, correlation id = `requestId`, uuid-typed when it is a uuid). */
  sendMethodRequest(methodName: string, requestId: string, payload: Uint8Array): void;
  /** Detaches this identity's links (with `condition`, default `amqp:unauthorized-access`) and forgets its authentication. */
  close(reason: string, condition?: string): void;
}

/**
 * Thrown (rejected) by `AmqpBackend.receiveMessage` to refuse a message with a specific AMQP
 * condition, e.g. `amqp:link:message-size-exceeded` (SDK `MessageTooLargeError`),
 * `amqp:resource-limit-exceeded` (`IotHubQuotaExceededError`).
 */
export class AmqpRefusal extends Error {
  constructor(
    readonly condition: string,
    message: string,
  ) {
    super(message);
    this.name = 'AmqpRefusal';
  }
}

/** AMQP error conditions the SDK maps to errors (iot-sdk-protocol.md §3.3). */
export const AmqpCondition = {
  unauthorized: 'amqp:unauthorized-access',
  notFound: 'amqp:not-found',
  notAllowed: 'amqp:not-allowed',
  resourceLimit: 'amqp:resource-limit-exceeded',
  messageSize: 'amqp:link:message-size-exceeded',
  internal: 'amqp:internal-error',
  detachForced: 'amqp:link:detach-forced',
} as const;
