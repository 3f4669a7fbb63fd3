import rhea, { type AmqpError, type Delivery, type Message as AmqpMessage } from 'rhea';
import { type ClientOperation, authorize, describeDenial } from '../../domain/identity/authorization.js';
import { formatIdentity } from '../../domain/identity/identity.js';
import type { Message } from '../../domain/messages/message.js';
import type { JsonValue } from '../../domain/twins/json.js';
import type { Logger } from '../../application/ports/logger.js';
import { type AmqpBackend, type AmqpClient, AmqpCondition, AmqpRefusal, type TwinReply } from './amqp-backend.js';
import type { ClientState, LinkState } from './amqp-connection-state.js';
import { errorText } from './amqp-diagnostics.js';
import type { AmqpLinks } from './amqp-links.js';
import { bodyBytes, expandBatch, fromAmqpMessage, idText, intOrLong, jsonSection } from './amqp-message.js';

/**
 * What authenticated clients send on their links: telemetry and module outputs (single and
 * batched transfers, settled with the backend's outcome), twin requests (answered on the twin
 * response link of the same channel) and direct-method responses.
 */
export class AmqpInbound {
  constructor(
    private readonly backend: AmqpBackend,
    private readonly links: AmqpLinks,
    private readonly log: Logger,
  ) {}

  /** A telemetry message as the backend gets it, or the refusal that settles its delivery. */
  private telemetryMessage(client: AmqpClient, amqp: AmqpMessage): Message | AmqpError {
    let message: Message;
    try {
      message = fromAmqpMessage(amqp);
    } catch (error) {
      return { condition: 'amqp:decode-error', description: errorText(error) };
    }
    return this.authorized(client, message);
  }

  /** `message`, or the refusal of an output name the client may not send on. */
  private authorized(client: AmqpClient, message: Message): Message | AmqpError {
    const outputName = message.systemProperties['outputName'];
    if (outputName !== undefined && outputName !== null) {
      const operation: ClientOperation = { kind: 'send-telemetry', target: client.identity, outputName };
      const decision = authorize(client.identity, operation);
      if (!decision.allowed) return { condition: AmqpCondition.notAllowed, description: describeDenial(client.identity, operation, decision.reason) };
    }
    return message;
  }

  async onTelemetry(link: LinkState, delivery: Delivery, amqp: AmqpMessage): Promise<void> {
    const message = this.telemetryMessage(link.client!, amqp);
    if (!('body' in message)) {
      this.links.settle(link, delivery, message);
      return;
    }
    await this.receive(link, delivery, [message]);
  }

  /** A telemetry message the head's own decoder read (`decodeTelemetry`): as `onTelemetry`, without rhea's message object. */
  async onDecodedTelemetry(link: LinkState, delivery: Delivery, decoded: Message): Promise<void> {
    const message = this.authorized(link.client!, decoded);
    if (!('body' in message)) {
      this.links.settle(link, delivery, message);
      return;
    }
    await this.receive(link, delivery, [message]);
  }

  /**
   * A batch (`BATCHED_MESSAGE_FORMAT`): every message is checked first, then all go to the backend
   * in order (started together, as pipelined single transfers would be) and the one delivery is
   * accepted when all are taken, else rejected with the first refusal, as IoT Hub settles a batch.
   */
  async onTelemetryBatch(link: LinkState, delivery: Delivery, payload: Buffer): Promise<void> {
    const messages: Message[] = [];
    try {
      for (const amqp of expandBatch(payload)) {
        const message = this.telemetryMessage(link.client!, amqp);
        if (!('body' in message)) {
          this.links.settle(link, delivery, message);
          return;
        }
        messages.push(message);
      }
    } catch (error) {
      this.links.settle(link, delivery, { condition: 'amqp:decode-error', description: `malformed batch: ${errorText(error)}` });
      return;
    }
    await this.receive(link, delivery, messages);
  }

  private async receive(link: LinkState, delivery: Delivery, messages: readonly Message[]): Promise<void> {
    const client = link.client!;
    try {
      if (messages.length === 1) await this.backend.receiveMessage(client, messages[0]!);
      else await Promise.all(messages.map((message) => this.backend.receiveMessage(client, message)));
      this.links.settle(link, delivery);
    } catch (error) {
      const condition = error instanceof AmqpRefusal ? error.condition : AmqpCondition.internal;
      if (!(error instanceof AmqpRefusal)) this.log.error('message not stored', { identity: formatIdentity(client.identity), error: errorText(error) });
      else this.log.warn('message refused', { identity: formatIdentity(client.identity), condition, detail: error.message });
      this.links.settle(link, delivery, { condition, description: error instanceof AmqpRefusal ? error.message : 'the message could not be stored' });
    }
  }

  async onTwinRequest(link: LinkState, delivery: Delivery, amqp: AmqpMessage): Promise<void> {
    const client = link.client!;
    const annotations = (amqp.message_annotations ?? {}) as Record<string, unknown>;
    const operation = typeof annotations['operation'] === 'string' ? annotations['operation'].toUpperCase() : '';
    const resource = typeof annotations['resource'] === 'string' ? annotations['resource'].toLowerCase() : '';
    const correlationId = amqp.correlation_id;
    this.links.settle(link, delivery);
    let reply: TwinReply;
    try {
      if (operation === 'GET') reply = await this.backend.getTwin(client);
      else if (operation === 'PATCH' && resource === '/properties/reported') {
        let patch: JsonValue;
        try {
          patch = JSON.parse(bodyBytes(amqp.body).toString('utf8')) as JsonValue;
        } catch {
          reply = { status: 400, body: { errorCode: 400004, message: 'reported properties patch is not valid JSON' } };
          this.twinReply(client, link.channel, correlationId, reply);
          return;
        }
        reply = await this.backend.patchReported(client, patch);
      } else if ((operation === 'PUT' || operation === 'DELETE') && resource === '/notifications/twin/properties/desired') {
        const enable = operation === 'PUT';
        if (client.desiredEnabled !== enable) {
          client.desiredEnabled = enable;
          this.backend.clientChanged(client);
        }
        reply = { status: 200 };
      } else {
        reply = { status: 400, body: { errorCode: 400027, message: `unsupported twin operation ${JSON.stringify(operation)} on ${JSON.stringify(resource)}` } };
      }
    } catch (error) {
      this.log.error('twin operation failed', { identity: formatIdentity(client.identity), operation, error: errorText(error) });
      reply = { status: 500, body: { errorCode: 500001, message: 'twin operation failed' } };
    }
    this.twinReply(client, link.channel, correlationId, reply);
  }

  private twinReply(client: ClientState, channel: string | undefined, correlationId: unknown, reply: TwinReply): void {
    const sender = client.sender('twin-out', channel);
    if (sender === undefined) {
      this.log.warn('twin response dropped: no twin receiver link', { identity: formatIdentity(client.identity) });
      return;
    }
    const annotations: Record<string, unknown> = { status: rhea.types.wrap_int(reply.status) };
    if (reply.version !== undefined) annotations['version'] = intOrLong(reply.version);
    // The SDK matches responses by correlation id used as an object key: echo it exactly (a string).
    const message = { correlation_id: correlationId as string, message_annotations: annotations } as AmqpMessage;
    if (reply.body !== undefined) message.body = jsonSection(reply.body);
    this.links.send(sender, message);
  }

  onMethodResponse(link: LinkState, delivery: Delivery, amqp: AmqpMessage): void {
    const client = link.client!;
    const requestId = idText(amqp.correlation_id);
    const statusValue = (amqp.application_properties as Record<string, unknown> | undefined)?.['IoThub-status'];
    const status = typeof statusValue === 'number' ? statusValue : Number(statusValue);
    this.links.settle(link, delivery);
    if (requestId === undefined || !Number.isInteger(status)) {
      this.log.warn('method response ignored: no correlation id or IoThub-status', { identity: formatIdentity(client.identity) });
      return;
    }
    this.backend.methodResponse(client, requestId, status, bodyBytes(amqp.body));
  }
}
