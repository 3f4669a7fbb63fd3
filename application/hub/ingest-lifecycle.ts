import { inject, injectable } from 'inversify';
import { HostedService, type ListenInfo } from '../ports/hosted-service.js';
import { IngestMessage } from './ingest-message.js';

/**
 * Commits what the protocol heads accepted before storage closes. Bound after the pumps and before
 * the heads, so on shutdown it runs once the heads stopped accepting and before the store closes.
 */
@injectable()
export class IngestLifecycle extends HostedService {
  readonly name = 'ingest';

  constructor(@inject(IngestMessage) private readonly ingest: IngestMessage) {
    super();
  }

  async start(): Promise<ListenInfo[]> {
    return [];
  }

  async stop(): Promise<void> {
    await this.ingest.drain();
  }
}
