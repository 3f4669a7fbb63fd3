import rhea, { type EventContext, type Message as AmqpMessage, type Receiver, type Sender } from 'rhea';
import type { UpstreamMethodRequest } from '../../application/ports/upstream.js';
import type { JsonValue } from '../../domain/twins/json.js';
import { bodyBytes } from './amqp-mapping.js';
import { errorText, whenOpen } from './amqp-links.js';
import type { CloudIdentity } from './cloud-identities.js';
import { API_VERSION } from './iothub-options.js';
import { LinkHandler } from './link-handler.js';

const decoder = new TextDecoder();

interface MethodState {
  sender?: Sender;
  receiver?: Receiver;
}

/** A direct-method request as IoT Hub sends it on the methods link. */
export function methodRequestOf(message: AmqpMessage): UpstreamMethodRequest {
  const name = String(message.application_properties?.['IoThub-methodname'] ?? '');
  const text = decoder.decode(bodyBytes(message));
  let payload: JsonValue | undefined;
  try {
    payload = text.trim() === '' ? undefined : (JSON.parse(text) as JsonValue);
  } catch {
    payload = text;
  }
  const timeoutSeconds = Number(message.application_properties?.['IoThub-methodtimeout'] ?? NaN);
  return Number.isFinite(timeoutSeconds) ? { name, payload, timeoutMs: timeoutSeconds * 1000 } : { name, payload };
}

/**
 * Direct methods from the cloud (edgeHub's method link handlers): a `/methods/devicebound`
 * receiver and sender pair per identity; each request goes to the application and its answer
 * back on the sender with the request's correlation id.
 */
export class MethodLink extends LinkHandler<MethodState> {
  async open(cloud: CloudIdentity): Promise<void> {
    const state = this.states.of(cloud);
    if (state.receiver !== undefined) return;
    const connection = await this.attachFor(cloud);
    const address = `${cloud.prefix}/methods/devicebound`;
    const properties = { 'com.microsoft:channel-correlation-id': `methods:${rhea.generate_uuid()}`, 'com.microsoft:api-version': API_VERSION };
    const sender = connection.open_sender({ target: { address }, name: `methods-s-${cloud.key}-${rhea.generate_uuid()}`, properties, rcv_settle_mode: 0 });
    const receiver = connection.open_receiver({ source: { address }, name: `methods-r-${cloud.key}-${rhea.generate_uuid()}`, properties, autoaccept: true, rcv_settle_mode: 0 });
    state.sender = sender;
    state.receiver = receiver;
    receiver.on('message', (context: EventContext) => {
      this.answer(cloud, sender, context.message!).catch((error: unknown) => this.context.log.warn('method response not sent', { identity: cloud.key, error: errorText(error) }));
    });
    await Promise.all([whenOpen(sender), whenOpen(receiver)]);
  }

  protected detach(state: MethodState): Array<Sender | Receiver | undefined> {
    const { sender, receiver } = state;
    delete state.sender;
    delete state.receiver;
    return [receiver, sender];
  }

  private async answer(cloud: CloudIdentity, sender: Sender, message: AmqpMessage): Promise<void> {
    const request = methodRequestOf(message);
    const handlers = this.context.handlers();
    const response = handlers === undefined ? { status: 503, payload: null } : await handlers.method(cloud.identity, request);
    if (!sender.is_open()) {
      this.context.log.warn('method response not sent: the methods link is closed', { identity: cloud.key, method: request.name });
      return;
    }
    sender.send({ correlation_id: message.correlation_id, application_properties: { 'IoThub-status': response.status }, body: rhea.message.data_section(Buffer.from(JSON.stringify(response.payload ?? null))) });
  }
}
