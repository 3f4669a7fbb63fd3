import { inject, injectable } from 'inversify';
import { HostedService, type ListenInfo } from '../ports/hosted-service.js';
import { Logger } from '../ports/logger.js';
import { StateIdentityStore } from './state-identity-store.js';

/**
 * At start, before any client can connect: makes sure every stored identity key is encrypted with
 * the master key (`StateIdentityStore.open`). Keys written in plain text by an older version are
 * encrypted now, without losing an identity; keys that do not decrypt (the key file was lost or
 * swapped) stop the start with a message naming the key file, rather than locking clients out later.
 */
@injectable()
export class ProtectIdentityKeys extends HostedService {
  readonly name = 'identity-keys';

  constructor(
    @inject(StateIdentityStore) private readonly store: StateIdentityStore,
    @inject(Logger) private readonly logger: Logger,
  ) {
    super();
  }

  async start(): Promise<ListenInfo[]> {
    const result = await this.store.open();
    if (result.encrypted > 0) {
      this.logger.warn(`encrypted the keys of ${result.encrypted} identit${result.encrypted === 1 ? 'y' : 'ies'} that were stored in plain text`, { encrypted: result.encrypted });
    }
    return [];
  }

  async stop(): Promise<void> {}
}
