import type { ServerResponse } from 'node:http';

/** Starts a server-sent events stream on `response` (no buffering, no caching). */
export function openEventStream(response: ServerResponse): void {
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
  });
  response.flushHeaders();
}

/** One server-sent event: `event: <name>` and the JSON data on one `data:` line. */
export function eventText(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Pushes one view to every open event stream every `intervalMs`: computed once per tick however
 * many pages are open, and not at all while none is (the timer runs only with subscribers). A
 * subscriber that does not keep up (its socket buffer is full) skips ticks instead of queueing them.
 */
export class StatusBroadcast {
  private readonly subscribers = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(
    private readonly event: string,
    private readonly compute: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  get size(): number {
    return this.subscribers.size;
  }

  /** Adds `response` (an open event stream) and sends it the current view at once. */
  subscribe(response: ServerResponse): void {
    this.subscribers.add(response);
    response.on('close', () => {
      this.subscribers.delete(response);
      if (this.subscribers.size === 0) this.halt();
    });
    void this.tick([response]);
    if (this.timer === undefined) this.timer = setInterval(() => void this.tick([...this.subscribers]), this.intervalMs);
  }

  /** Ends every stream (the server stops). */
  close(): void {
    this.halt();
    for (const response of this.subscribers) response.end();
    this.subscribers.clear();
  }

  private halt(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(targets: ServerResponse[]): Promise<void> {
    if (this.ticking && targets.length > 1) return;
    this.ticking = true;
    try {
      const text = eventText(this.event, await this.compute());
      for (const response of targets) if (!response.writableNeedDrain && !response.writableEnded) response.write(text);
    } catch (error) {
      this.onError(error);
    } finally {
      this.ticking = false;
    }
  }
}
