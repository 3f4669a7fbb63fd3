import { Clock, type TimerHandle } from '../../../application/ports/clock.js';

interface Pending {
  at: number;
  callback: () => void;
  timer: NodeJS.Timeout;
  done: boolean;
}

/**
 * The wall clock plus an offset that only `advance` changes: times the Docker engine reports (real)
 * stay comparable with the agent's time, while a test still skips cool-offs by jumping ahead
 * instead of sleeping. (A plain fake clock behind the real time would make every real exit look
 * like it happened in the future, which the restart policy treats as clock skew: restart at once.)
 */
export class OffsetClock extends Clock {
  private offset = 0;
  private readonly pending = new Set<Pending>();

  now(): number {
    return Date.now() + this.offset;
  }

  schedule(delayMs: number, callback: () => void): TimerHandle {
    const entry: Pending = { at: this.now() + Math.max(0, delayMs), callback, done: false, timer: undefined as unknown as NodeJS.Timeout };
    entry.timer = setTimeout(() => this.fire(entry), Math.max(0, delayMs));
    entry.timer.unref();
    this.pending.add(entry);
    return {
      cancel: () => {
        entry.done = true;
        clearTimeout(entry.timer);
        this.pending.delete(entry);
      },
    };
  }

  /** Jumps `ms` ahead, firing the timers that became due, in time order. */
  advance(ms: number): void {
    this.offset += ms;
    const due = [...this.pending].filter((p) => p.at <= this.now()).sort((a, b) => a.at - b.at);
    for (const entry of due) this.fire(entry);
  }

  private fire(entry: Pending): void {
    if (entry.done) return;
    entry.done = true;
    clearTimeout(entry.timer);
    this.pending.delete(entry);
    entry.callback();
  }
}
