import type { Clock, TimerHandle } from '../../application/ports/clock.js';

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
  timer: TimerHandle;
}

/**
 * Requests sent on a link whose replies come back on its partner link, matched by correlation id
 * (CBS put-token, twin operations). Each waits at most its time-out on the clock.
 */
export class PendingReplies<T> {
  private readonly waiting = new Map<string, Waiter<T>>();

  constructor(private readonly clock: Clock) {}

  /** Resolves with the reply to `id`; after `timeoutMs` rejects with `timedOut()` (which may also act, e.g. drop the connection). */
  wait(id: string, timeoutMs: number, timedOut: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.clock.schedule(timeoutMs, () => {
        if (this.waiting.delete(id)) reject(timedOut());
      });
      this.waiting.set(id, { resolve, reject, timer });
    });
  }

  /** Hands `value` to the request `id`; false when nothing waits for it (late, or not ours). */
  settle(id: string | undefined, value: T): boolean {
    const waiter = id === undefined ? undefined : this.waiting.get(id);
    if (waiter === undefined) return false;
    this.waiting.delete(id!);
    waiter.timer.cancel();
    waiter.resolve(value);
    return true;
  }

  /** Fails every request still waiting (the connection went). */
  failAll(error: Error): void {
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    for (const waiter of waiters) {
      waiter.timer.cancel();
      waiter.reject(error);
    }
  }
}
