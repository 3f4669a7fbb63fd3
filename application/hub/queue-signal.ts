import { injectable } from 'inversify';
import type { QueueKey } from '../../domain/messages/store-and-forward.js';

export type QueueListener = (queues: readonly QueueKey[]) => void;

/** Tells pumps that queues got new committed entries (ingest -> pumps, in process). */
@injectable()
export class QueueSignal {
  private readonly listeners = new Set<QueueListener>();

  notify(queues: readonly QueueKey[]): void {
    for (const listener of this.listeners) listener(queues);
  }

  subscribe(listener: QueueListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
