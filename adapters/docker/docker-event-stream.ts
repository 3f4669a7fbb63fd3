import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from '../../application/ports/logger.js';
import { messageOf } from './docker-errors.js';
import { LABELS } from './docker-labels.js';

/** One container event of a module's container, as Docker sent it. */
export interface DockerContainerEvent {
  module: string;
  /** `start`, `die`, `health_status: unhealthy`, ... */
  action: string;
  /** Epoch ms (from Docker's nanosecond time when present). */
  time: number;
  /** The container's attributes (labels, `exitCode` of a `die`). */
  attributes: Readonly<Record<string, string>>;
}

/** `timeNano` of a Docker event, read from the raw JSON (it does not fit a double exactly). */
function eventNano(raw: string, seconds: number | undefined): bigint | undefined {
  const match = /"timeNano"\s*:\s*(\d+)/.exec(raw);
  if (match?.[1] !== undefined) return BigInt(match[1]);
  return seconds === undefined ? undefined : BigInt(seconds) * 1_000_000_000n;
}

/** Nanoseconds since the epoch as Docker's `since` text: `seconds.nanoseconds`. */
function nanoToSeconds(nano: bigint): string {
  return `${nano / 1_000_000_000n}.${(nano % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/**
 * Docker's event stream for the runtime's containers (`type=container`, `start|die|health_status`,
 * filtered by labels). When the stream ends (daemon restart, proxy timeout) it is re-opened after
 * `reconnectMs` with `since` = the newest event seen, so events of the gap are replayed; events
 * seen already are dropped.
 */
export class DockerEventStream {
  private stream: Readable | undefined;
  private wanted = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private opening: Promise<void> | undefined;
  /** Time of the newest event seen (ns; beyond a double's precision, hence bigint). */
  private lastEventNano: bigint | undefined;
  /** Events seen at `lastEventNano`, to drop their replay. */
  private readonly seenAtLastNano = new Set<string>();
  /** While replaying after a reconnect: events up to this time were (maybe) seen already. */
  private replayUpTo: bigint | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly logger: Logger,
    private readonly labelFilters: readonly string[],
    private readonly onEvent: (event: DockerContainerEvent) => void,
    private readonly reconnectMs = 1000,
  ) {}

  /** Opens the stream now (the lifecycle does so at start) and keeps it open until `close`. */
  async watch(): Promise<void> {
    this.wanted = true;
    if (this.stream === undefined) await this.open();
  }

  /** Starts watching without waiting for the stream to open (the first event subscriber). */
  watchInBackground(): void {
    if (this.wanted) return;
    this.wanted = true;
    void this.open();
  }

  /** Closes the stream and stops re-opening it. */
  close(): void {
    this.wanted = false;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const stream = this.stream;
    this.stream = undefined;
    stream?.destroy();
  }

  private async open(): Promise<void> {
    if (this.opening !== undefined) return await this.opening;
    this.opening = this.connect().finally(() => {
      this.opening = undefined;
    });
    await this.opening;
  }

  private async connect(): Promise<void> {
    if (!this.wanted || this.stream !== undefined) return;
    let stream: Readable;
    const options: Record<string, unknown> = {
      filters: { type: ['container'], event: ['start', 'die', 'health_status'], label: [...this.labelFilters] },
    };
    // After a reconnect, replay what happened while the stream was down (Docker keeps recent events).
    if (this.lastEventNano !== undefined) {
      options['since'] = nanoToSeconds(this.lastEventNano);
      this.replayUpTo = this.lastEventNano;
    }
    try {
      stream = (await this.docker.getEvents(options)) as Readable;
    } catch (error) {
      this.logger.warn(`cannot open the Docker event stream: ${messageOf(error)}; retrying`);
      this.scheduleReconnect();
      return;
    }
    if (!this.wanted) {
      stream.destroy();
      return;
    }
    this.stream = stream;
    // Without any event yet, a reconnect replays from the moment this stream opened.
    this.lastEventNano ??= BigInt(Date.now()) * 1_000_000n;
    let buffer = '';
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        this.receive(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
    });
    const ended = (): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      if (this.wanted) {
        this.logger.warn('the Docker event stream ended; reconnecting');
        this.scheduleReconnect();
      }
    };
    stream.once('end', ended);
    stream.once('close', ended);
    stream.once('error', ended);
  }

  private scheduleReconnect(): void {
    if (!this.wanted || this.reconnectTimer !== undefined) return;
    // Real timers: this waits on the Docker engine, whatever clock the agent logic uses.
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.open();
    }, this.reconnectMs);
    this.reconnectTimer.unref();
  }

  private receive(text: string): void {
    if (text.trim() === '') return;
    let event: { Action?: string; status?: string; time?: number; Actor?: { Attributes?: Record<string, string> } };
    try {
      event = JSON.parse(text) as typeof event;
    } catch {
      return;
    }
    const attributes = event.Actor?.Attributes ?? {};
    const module = attributes[LABELS.module];
    if (module === undefined) return;
    const nano = eventNano(text, event.time);
    if (nano !== undefined) {
      // The replay after a reconnect may repeat events seen before it: skip those.
      const replayedUpTo = this.replayUpTo;
      if (replayedUpTo !== undefined) {
        if (nano < replayedUpTo || (nano === replayedUpTo && this.seenAtLastNano.has(text))) return;
        if (nano > replayedUpTo) this.replayUpTo = undefined;
      }
      if (this.lastEventNano === undefined || nano > this.lastEventNano) {
        this.seenAtLastNano.clear();
        this.lastEventNano = nano;
      }
      if (nano === this.lastEventNano) this.seenAtLastNano.add(text);
    }
    const time = nano !== undefined ? Number(nano / 1_000_000n) : (event.time ?? 0) * 1000;
    this.onEvent({ module, action: event.Action ?? event.status ?? '', time, attributes });
  }
}
