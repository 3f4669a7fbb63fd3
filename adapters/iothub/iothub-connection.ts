import rhea, { type Connection, type Container, type EventContext } from 'rhea';
import type { Clock, TimerHandle } from '../../application/ports/clock.js';
import type { Logger } from '../../application/ports/logger.js';
import { UpstreamError, type ConnectionListener } from '../../application/ports/upstream.js';
import { retryDelayMs } from '../../domain/messages/store-and-forward.js';
import { conditionText, errorText } from './amqp-links.js';
import { IOTHUB_DEFAULTS, connectHostOf, hubHostOf, type IotHubUpstreamOptions } from './iothub-options.js';

/** What the upstream does when a connection comes up or goes. */
export interface ConnectionLifecycle {
  /** Sets up a new connection (CBS, the edge device's token); a rejection drops it and reconnects. */
  setUp(connection: Connection): Promise<void>;
  /** The connection went (or the upstream stops): everything bound to it is forgotten. */
  lost(reason: string): void;
}

/** How long `stop` waits for IoT Hub to answer the close before it drops the socket. */
const CLOSE_TIMEOUT_MS = 2000;

/**
 * The ONE AMQP connection to IoT Hub (edgeHub's cloud connection): TLS, AMQP heartbeats (the idle
 * time-out notices a dead peer), reconnects with exponential back-off and jitter. It counts as
 * connected only once `setUp` succeeded on it; listeners hear every connect and disconnect.
 */
export class IotHubConnection {
  private readonly container: Container;
  private connection: Connection | undefined;
  private connected = false;
  private running = false;
  private attempt = 0;
  private reconnectTimer: TimerHandle | undefined;
  private readonly listeners = new Set<ConnectionListener>();
  /** Connection attempts so far, and how many of them were set up (tests and logs). */
  connectAttempts = 0;
  connectionsEstablished = 0;

  constructor(
    private readonly options: IotHubUpstreamOptions,
    private readonly deps: { readonly clock: Clock; readonly random: () => number; readonly log: Logger },
    private readonly lifecycle: ConnectionLifecycle,
  ) {
    this.container = rhea.create_container({ id: `edgeport-${options.connection.deviceId}` });
  }

  start(): void {
    this.running = true;
    this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.reconnectTimer?.cancel();
    const connection = this.connection;
    this.lost('stopped');
    if (connection !== undefined) await this.close(connection);
  }

  isConnected(): boolean {
    return this.connected;
  }

  onConnectionChange(listener: ConnectionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The open connection; a transient `UpstreamError` when there is none. */
  require(): Connection {
    const connection = this.connection;
    if (connection === undefined || !connection.is_open()) throw new UpstreamError('not connected to IoT Hub', true);
    return connection;
  }

  /** Drops the current connection at once (an unanswered request means it hangs); the reconnect follows. */
  drop(): void {
    this.connection?.socket?.destroy?.();
  }

  private close(connection: Connection): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!connection.is_open()) {
        connection.socket?.destroy?.();
        resolve();
        return;
      }
      const timer = this.deps.clock.schedule(CLOSE_TIMEOUT_MS, () => {
        connection.socket?.destroy?.();
        resolve();
      });
      const closed = (): void => {
        timer.cancel();
        resolve();
      };
      connection.once('connection_close', closed);
      connection.once('disconnected', closed);
      connection.close();
    });
  }

  private connect(): void {
    if (!this.running) return;
    this.reconnectTimer = undefined;
    const host = connectHostOf(this.options);
    const connection = this.container.connect({
      host,
      hostname: hubHostOf(this.options),
      port: this.options.amqpPort ?? IOTHUB_DEFAULTS.amqpPort,
      transport: 'tls',
      servername: host,
      ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
      // X.509: the device certificate in the TLS handshake and SASL EXTERNAL (rhea offers it when a cert is set).
      ...(this.options.x509 === undefined ? {} : { cert: this.options.x509.cert, key: this.options.x509.key, enable_sasl_external: true }),
      reconnect: false,
      idle_time_out: this.options.idleTimeoutMs ?? IOTHUB_DEFAULTS.idleTimeoutMs,
    } as Parameters<Container['connect']>[0]);
    this.connection = connection;
    // Every identity's pending link attach and credit wait listens for the disconnect.
    connection.setMaxListeners(0);
    this.connectAttempts++;
    this.listen(connection);
  }

  private listen(connection: Connection): void {
    const log = this.deps.log;
    connection.on('connection_open', () => {
      if (this.connection === connection) void this.setUp(connection);
    });
    connection.on('connection_error', (context: EventContext) => {
      log.warn('IoT Hub closed the connection with an error', { error: conditionText(context.connection.error) });
    });
    connection.on('disconnected', (context: EventContext) => {
      if (this.connection !== connection) return;
      this.connection = undefined;
      const reason = (context as { error?: unknown }).error;
      this.lost(reason === undefined ? 'connection closed' : errorText(reason));
      this.scheduleReconnect();
    });
    connection.on('error', (error: unknown) => log.debug('IoT Hub connection error event', { error: errorText(error) }));
    // rhea emits link and session errors on the connection when no link listener handles them; the
    // link's own close handling acts on them, so they are only logged here (with the link's name,
    // which names the identity).
    for (const event of ['sender_error', 'receiver_error', 'session_error'] as const) {
      connection.on(event, (context: EventContext) => {
        const link = context.sender ?? context.receiver;
        log.debug(`IoT Hub ${event.replace('_', ' ')}`, { link: link?.name ?? null, error: conditionText(link?.error ?? context.session?.error) });
      });
    }
  }

  private async setUp(connection: Connection): Promise<void> {
    try {
      await this.lifecycle.setUp(connection);
      this.attempt = 0;
      this.connectionsEstablished++;
      this.setConnected(true);
      this.deps.log.info(`connected to IoT Hub ${hubHostOf(this.options)}`, { host: connectHostOf(this.options), connections: this.connectionsEstablished });
    } catch (error) {
      this.deps.log.warn('IoT Hub connection could not be set up; reconnecting', { error: errorText(error) });
      connection.close();
      connection.socket?.destroy?.();
      // rhea hears 'end' and 'error' only, not a destroyed socket's 'close': tell it, so 'disconnected' schedules the reconnect.
      (connection as unknown as { eof?: () => void }).eof?.();
    }
  }

  private scheduleReconnect(): void {
    if (!this.running || this.reconnectTimer !== undefined) return;
    const delay = Math.min(retryDelayMs(this.attempt, this.deps.random()), this.options.maxReconnectDelayMs ?? IOTHUB_DEFAULTS.maxReconnectDelayMs);
    this.attempt++;
    if (this.attempt === 1 || this.attempt % 10 === 0) this.deps.log.info('IoT Hub not reachable; reconnecting', { attempt: this.attempt, delayMs: Math.round(delay) });
    this.reconnectTimer = this.deps.clock.schedule(delay, () => this.connect());
  }

  private lost(reason: string): void {
    this.lifecycle.lost(reason);
    this.setConnected(false);
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    for (const listener of this.listeners) listener(connected);
  }
}
