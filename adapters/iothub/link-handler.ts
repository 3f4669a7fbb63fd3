import type { Connection, Receiver, Sender } from 'rhea';
import type { Clock } from '../../application/ports/clock.js';
import type { Logger } from '../../application/ports/logger.js';
import type { UpstreamHandlers } from '../../application/ports/upstream.js';
import { closeLinks } from './amqp-links.js';
import type { CbsTokenAuthenticator } from './cbs-token-authenticator.js';
import { PerIdentity, type CloudIdentity } from './cloud-identities.js';
import type { IotHubConnection } from './iothub-connection.js';

/** What every link handler of the upstream works with. */
export interface LinkContext {
  readonly connection: IotHubConnection;
  readonly authenticator: CbsTokenAuthenticator;
  readonly clock: Clock;
  readonly log: Logger;
  /** Twin, CBS and scope request time-out. */
  readonly operationTimeoutMs: number;
  /** The application's side of what the cloud pushes (undefined before `start`). */
  handlers(): UpstreamHandlers | undefined;
}

/**
 * One kind of link per identity (edgeHub's link handlers): attached after the identity's token on
 * the shared connection, closed when the identity no longer needs it, forgotten with the connection.
 * `S` is the per-identity state; `detach` takes its links out of it.
 */
export abstract class LinkHandler<S extends object> {
  protected readonly states: PerIdentity<S>;

  constructor(
    protected readonly context: LinkContext,
    // Link states hold optional links only, so an empty object is every state's start.
    create: () => S = () => ({}) as S,
  ) {
    this.states = new PerIdentity(create);
  }

  /** Closes `cloud`'s links of this kind. */
  close(cloud: CloudIdentity): void {
    closeLinks(...this.detach(this.states.of(cloud)));
  }

  /** The connection went: every identity's links of this kind are gone with it. */
  connectionLost(_failure: Error): void {
    for (const state of this.states.values()) this.detach(state);
  }

  /** Puts `cloud`'s token on the connection, then returns that connection to attach links on. */
  protected async attachFor(cloud: CloudIdentity): Promise<Connection> {
    await this.context.authenticator.authenticate(cloud);
    return this.context.connection.require();
  }

  /** Removes the links from `state` and returns them, receivers first. */
  protected abstract detach(state: S): Array<Sender | Receiver | undefined>;
}
