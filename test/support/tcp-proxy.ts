import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy to a service, for outage tests: `cut()` destroys every open connection
 * (a network drop as both ends see it), `pause()` refuses new ones until `resume()`; optionally
 * slowed to a bandwidth.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private paused = false;
  port = 0;
  connections = 0;

  /**
   * `bytesPerSecond`: each connection's bytes from the target to the client are slowed to about
   * this rate (a slow registry for pull tests); undefined: as fast as they come.
   */
  constructor(
    private readonly target: { host: string; port: number },
    private readonly options: { bytesPerSecond?: number } = {},
  ) {}

  async start(): Promise<number> {
    this.server = createServer((client) => {
      if (this.paused) {
        client.destroy();
        return;
      }
      this.connections++;
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      const rate = this.options.bytesPerSecond;
      if (rate === undefined) upstream.pipe(client);
      else {
        upstream.on('data', (chunk: Buffer) => {
          client.write(chunk);
          // Hold the next read back for as long as this chunk takes at the rate.
          upstream.pause();
          setTimeout(() => upstream.resume(), (chunk.length * 1000) / rate);
        });
      }
      client.on('close', () => upstream.destroy());
      // Throttled, the client may still have bytes buffered: end it after them instead of dropping them.
      upstream.on('close', () => (rate === undefined ? client.destroy() : client.end()));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
    return this.port;
  }

  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  pause(): void {
    this.paused = true;
    this.cut();
  }

  resume(): void {
    this.paused = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }
}
