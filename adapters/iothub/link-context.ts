import type { Clock } from '../../application/ports/clock.js';
import type { Logger } from '../../application/ports/logger.js';
import type { UpstreamHandlers } from '../../application/ports/upstream.js';
import type { CbsTokenAuthenticator } from './cbs-token-authenticator.js';
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
