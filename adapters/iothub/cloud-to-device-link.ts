import rhea, { type EventContext, type Receiver } from 'rhea';
import { UpstreamError } from '../../application/ports/upstream.js';
import { fromAmqpC2d } from './amqp-mapping.js';
import { errorText, whenOpen } from './amqp-links.js';
import type { CloudIdentity } from './cloud-identities.js';
import { LinkHandler } from './link-handler.js';

interface CloudToDeviceState {
  receiver?: Receiver;
}

/**
 * Cloud-to-device messages for leaf devices (edgeHub's device-bound link handler): a
 * `/messages/devicebound` receiver per device with a credit window of 10; a message is accepted
 * once the application took it durably, released when it could not (the cloud sends it again),
 * rejected when it never will.
 */
export class CloudToDeviceLink extends LinkHandler<CloudToDeviceState> {
  async open(cloud: CloudIdentity): Promise<void> {
    const state = this.states.of(cloud);
    if (state.receiver !== undefined) return;
    const connection = await this.attachFor(cloud);
    const receiver = connection.open_receiver({ source: { address: `${cloud.prefix}/messages/devicebound` }, name: `c2d-${cloud.key}-${rhea.generate_uuid()}`, autoaccept: false, credit_window: 10 });
    state.receiver = receiver;
    receiver.on('message', (context: EventContext) => this.take(cloud, context));
    await whenOpen(receiver);
  }

  protected detach(state: CloudToDeviceState): Array<Receiver | undefined> {
    const receiver = state.receiver;
    delete state.receiver;
    return [receiver];
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
