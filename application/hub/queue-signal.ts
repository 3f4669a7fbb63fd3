import { injectable } from 'inversify';
import type { QueueKey } from '../../domain/messages/store-and-forward.js';
import type { QueuedMessage } from '../ports/message-store.js';

/**
 * `committed[i]`, when given, holds the entries just committed to `queues[i]`, in offset order, so a
 * pump that has read everything before them can take them without reading them back from the store.
 * The messages are shared between queues: read-only.
 */
export type QueueListener = (queues: readonly QueueKey[], committed?: ReadonlyArray<readonly QueuedMessage[]>) => void;

/** Tells pumps that queues got new committed entries (ingest -> pumps, in process). */
@injectable()
export class QueueSignal {
  private readonly listeners = new Set<QueueListener>();

  notify(queues: readonly QueueKey[], committed?: ReadonlyArray<readonly QueuedMessage[]>): void {
    for (const listener of this.listeners) listener(queues, committed);
  }

  subscribe(listener: QueueListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
