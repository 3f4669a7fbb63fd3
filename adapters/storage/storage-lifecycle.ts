import { inject, injectable } from 'inversify';
import { HostedService, type ListenInfo } from '../../application/ports/hosted-service.js';
import { MessageStore } from '../../application/ports/message-store.js';
import { StateStore } from '../../application/ports/state-store.js';
import { StorageConnection } from './storage-connection.js';

/**
 * Opens the database (running migrations) before anything else starts and closes it last.
 * Start it before the pumps and protocol heads.
 */
@injectable()
export class StorageLifecycle extends HostedService {
  readonly name = 'storage';

  constructor(
    @inject(StorageConnection) private readonly dataSource: StorageConnection,
    @inject(MessageStore) private readonly messages: MessageStore,
    @inject(StateStore) private readonly state: StateStore,
  ) {
    super();
  }

  async start(): Promise<ListenInfo[]> {
    await this.messages.open();
    await this.state.open();
    return [];
  }

  async stop(): Promise<void> {
    await this.messages.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
