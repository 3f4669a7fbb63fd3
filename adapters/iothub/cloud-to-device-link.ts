import rhea, { type EventContext, type Receiver } from 'rhea';
import { UpstreamError } from '../../application/ports/upstream.js';
import { fromAmqpC2d } from './amqp-mapping.js';
import { errorText, whenOpen } from './amqp-links.js';
import { PerIdentity, type CloudIdentity } from './cloud-identities.js';
import type { LinkContext } from './link-context.js';

interface CloudToDeviceState {
  receiver?: Receiver;
}

/**
 * Cloud-to-device messages for leaf devices (edgeHub's device-bound link handler): a
 * `/messages/devicebound` receiver per device with a credit window of 10; a message is accepted
 * once the application took it durably, released when it could not (the cloud sends it again),
 * rejected when it never will.
 */
export class CloudToDeviceLink {
  private readonly states = new PerIdentity<CloudToDeviceState>(() => ({}));

  constructor(private readonly context: LinkContext) {}

  async open(cloud: CloudIdentity): Promise<void> {
    const state = this.states.of(cloud);
    if (state.receiver !== undefined) return;
    await this.context.authenticator.authenticate(cloud);
    const connection = this.context.connection.require();
    const receiver = connection.open_receiver({ source: { address: `${cloud.prefix}/messages/devicebound` }, name: `c2d-${cloud.key}-${rhea.generate_uuid()}`, autoaccept: false, credit_window: 10 });
    state.receiver = receiver;
    receiver.on('message', (context: EventContext) => this.take(cloud, context));
    await whenOpen(receiver);
  }

  close(cloud: CloudIdentity): void {
    const state = this.states.of(cloud);
    const receiver = state.receiver;
    delete state.receiver;
    receiver?.close();
  }

  connectionLost(): void {
    for (const state of this.states.values()) delete state.receiver;
  }

  private take(cloud: CloudIdentity, context: EventContext): void {
    const delivery = context.delivery!;
    const message = fromAmqpC2d(context.message!);
    const handlers = this.context.handlers();
    if (handlers === undefined) {
      this.context.log.debug('cloud-to-device message before start; released', { identity: cloud.key });
      delivery.release();
      return;
    }
    handlers.cloudToDevice(cloud.identity, message).then(
      () => delivery.accept(),
      (error: unknown) => {
        const permanent = error instanceof UpstreamError && !error.transient;
        this.context.log.warn('cloud-to-device message not taken', { identity: cloud.key, error: errorText(error) });
        if (permanent) delivery.reject({ condition: 'amqp:not-allowed', description: errorText(error) });
        else delivery.release();
      },
    );
  }
}
