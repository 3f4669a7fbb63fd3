import { inject, injectable } from 'inversify';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { CertificateVerifier } from '../../application/ports/certificate-verifier.js';
import type { IncomingMessage } from 'node:http';
import { ConnectionGuard } from '../../application/hub/connection-guard.js';
import { HostedService, type ListenInfo } from '../../application/ports/hosted-service.js';
import { Logger } from '../../application/ports/logger.js';
import { AmqpServer } from './amqp-server.js';
import { EdgeHubAmqpBackend } from './edge-hub-amqp-backend.js';

/** Where and how the AMQP head listens (from `hub.amqp.*` and the edge certificates). */
export class AmqpHeadOptions {
  host = '0.0.0.0';
  port = 5671;
  /** Server certificate chain and key, PEM; without it nothing listens (the SDKs only speak TLS). */
  tls: { cert: string; key: string } | undefined = undefined;
  /** Unsettled messages a client may have in flight per link. */
  creditWindow = 1000;
  /** Advertised idle time-out: the SDK then heartbeats, and a silent client is dropped after twice this. */
  idleTimeoutMs = 240_000;
  portSetting = 'hub.amqp.port';

  constructor(overrides: Partial<AmqpHeadOptions> = {}) {
    Object.assign(this, overrides);
  }
}

/** The edge hub's AMQP 1.0 head: the protocol server core with the edge hub backend. */
@injectable()
export class AmqpHubHead extends HostedService {
  readonly name = 'amqp';
  private server: AmqpServer | null = null;
  private readonly log: Logger;

  constructor(
    @inject(AmqpHeadOptions) private readonly options: AmqpHeadOptions,
    @inject(EdgeHubAmqpBackend) private readonly backend: EdgeHubAmqpBackend,
    @inject(ConnectionGuard) private readonly guard: ConnectionGuard,
    @inject(Logger) logger: Logger,
    @inject(CertificateVerifier) private readonly verifier: CertificateVerifier,
  ) {
    super();
    this.log = logger.child({ component: 'amqp' });
  }

  async start(): Promise<ListenInfo[]> {
    if (this.server !== null) return [];
    if (this.options.tls === undefined) {
      this.log.warn('AMQP is enabled but nothing listens: no server certificate for TLS');
      return [];
    }
    const server = new AmqpServer(this.backend, this.log, {
      host: this.options.host,
      port: this.options.port,
      tls: this.options.tls,
      portSetting: this.options.portSetting,
      creditWindow: this.options.creditWindow,
      idleTimeoutMs: this.options.idleTimeoutMs,
      guard: this.guard,
      peerChain: (socket) => this.verifier.peerChain(socket),
    });
    const info = await server.start();
    this.server = server;
    return [info];
  }

  /** Serves AMQP over an established stream (AMQP over WebSocket, subprotocol `AMQPWSB10`; the HTTPS listener admitted `request`'s socket). */
  handleStream(stream: Duplex, request?: IncomingMessage): void {
    if (this.server === null) {
      stream.destroy();
      return;
    }
    const tls = request?.socket instanceof TLSSocket ? request.socket : undefined;
    this.server.accept(stream, request === undefined ? undefined : this.guard.peerOf(request.socket), tls);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    await server?.stop();
  }
}
