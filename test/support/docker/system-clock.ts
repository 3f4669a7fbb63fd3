import { Clock, type TimerHandle } from '../../../application/ports/clock.js';

/** The wall clock, for runtime tests that need no fake time. */
export class SystemClockForTests extends Clock {
  now(): number {
    return Date.now();
  }
  schedule(delayMs: number, callback: () => void): TimerHandle {
    const timer = setTimeout(callback, delayMs);
    return { cancel: () => clearTimeout(timer) };
  }
}
