import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HostedService, ListenError, type ListenInfo } from '../../application/ports/hosted-service.js';
import type { PrometheusMetrics } from './prometheus-metrics.js';

export interface MetricsHttpOptions {
  host: string;
  port: number;
  /** Configuration key of the port, for bind errors. */
  setting: string;
}

/** Serves `GET /metrics` (Prometheus text) and `GET /health` (liveness) over plain HTTP. */
export class MetricsHttpServer extends HostedService {
  readonly name = 'metrics';
  private server: Server | undefined;

  constructor(
    private readonly metrics: PrometheusMetrics,
    private readonly options: MetricsHttpOptions,
  ) {
    super();
  }

  async start(): Promise<ListenInfo[]> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method !== 'GET') {
        response.writeHead(405, { allow: 'GET' }).end();
      } else if (path === '/metrics') {
        this.metrics.exposition().then(
          (text) => response.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text),
          () => response.writeHead(500).end(),
        );
      } else if (path === '/health') {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      } else {
        response.writeHead(404).end();
      }
    });
    const info: ListenInfo = { protocol: 'http', host: this.options.host, port: this.options.port, setting: this.options.setting };
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(new ListenError(info, error.code ?? error.message)));
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.server = server;
    return [{ ...info, port: (server.address() as AddressInfo).port }];
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
