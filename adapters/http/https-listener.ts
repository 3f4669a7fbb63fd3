import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Server, createServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { inject, injectable } from 'inversify';
import { type WebSocket, WebSocketServer, createWebSocketStream } from 'ws';
import { ConnectionGuard, type GuardedSocket } from '../../application/hub/connection-guard.js';
import { HostedService, type ListenInfo, listenOn } from '../../application/ports/hosted-service.js';
import { Logger } from '../../application/ports/logger.js';
import { HttpRouter, type RouteHandler } from './http-router.js';

/** Where the HTTPS listener binds (`hub.https.*`) and its TLS material (the edge server certificate). */
export class HttpsListenerOptions {
  host = '0.0.0.0';
  port = 443;
  tls: { cert: string; key: string } | undefined = undefined;
  portSetting = 'hub.https.port';

  constructor(overrides: Partial<HttpsListenerOptions> = {}) {
    Object.assign(this, overrides);
  }
}

/** Takes over one WebSocket connection whose path and subprotocol it was registered for. */
export type WebSocketHandler = (socket: WebSocket, request: IncomingMessage) => void;

/** A WebSocket as a byte stream (MQTT and other stream protocols over WebSocket). */
export function webSocketStream(socket: WebSocket): Duplex {
  return createWebSocketStream(socket);
}

/**
 * The hub's HTTPS port (Azure's edgeHub 443): TLS with the edge server certificate, serving HTTP
 * routes and WebSocket upgrades that other parts register before it starts:
 *
 * - `addRoute(method, path, handler)`: requests on `path` (an `HttpRouter` path such as
 *   `/twins/:deviceId/methods`);
 * - `addWebSocket(path, subprotocol, handler)`: upgrades on `path` offering `subprotocol` (the
 *   client's first offered subprotocol that has a handler wins; edgeHub selects MQTT or AMQP on
 *   `/$iothub/websocket` this way: `mqtt`, `AMQPWSB10`).
 *
 * Anything else gets a JSON 404/405 (requests) or an HTTP 400 before the upgrade (WebSockets).
 */
@injectable()
export class HttpsListener extends HostedService {
  readonly name = 'https';
  private readonly routes: HttpRouter;
  private readonly sockets = new Map<string, Map<string, WebSocketHandler>>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024, handleProtocols: (offered, request) => this.protocolFor(request, offered) });
  private server: Server | null = null;
  private readonly log: Logger;

  constructor(
    @inject(HttpsListenerOptions) private readonly options: HttpsListenerOptions,
    @inject(ConnectionGuard) private readonly guard: ConnectionGuard,
    @inject(Logger) logger: Logger,
  ) {
    super();
    this.log = logger.child({ component: 'https' });
    this.routes = new HttpRouter({ name: 'HTTPS', log: this.log });
  }

  addRoute(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, handler: RouteHandler): void {
    this.routes.on(method, path, handler);
  }

  addWebSocket(path: string, subprotocol: string, handler: WebSocketHandler): void {
    let byProtocol = this.sockets.get(path);
    if (byProtocol === undefined) this.sockets.set(path, (byProtocol = new Map()));
    byProtocol.set(subprotocol.toLowerCase(), handler);
  }

  async start(): Promise<ListenInfo[]> {
    if (this.server !== null) return [];
    if (this.options.tls === undefined) {
      this.log.warn('HTTPS is enabled but there is no server certificate: not listening');
      return [];
    }
    const server = createServer({ cert: this.options.tls.cert, key: this.options.tls.key, requestCert: true, rejectUnauthorized: false, noDelay: true, handshakeTimeout: this.guard.limits.handshakeTimeoutMs }, (request, response) => this.onRequest(request, response));
    // Connection limits (docs/security.md): admission on the raw socket, before the TLS handshake.
    // A connection stops being pending with its first request; an upgraded one (MQTT or AMQP over
    // WebSocket) when its protocol head authenticates it.
    server.prependListener('connection', (socket: Duplex & GuardedSocket) => this.guard.admit(socket, 'https'));
    server.on('request', (request: IncomingMessage) => {
      const peer = this.guard.peerOf(request.socket);
      if (peer !== undefined) this.guard.established(peer);
    });
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(request, socket, head));
    server.on('tlsClientError', (error) => this.log.debug('TLS handshake failed', { error: error.message }));
    const info: ListenInfo = { protocol: 'https', host: this.options.host, port: this.options.port, setting: this.options.portSetting };
    const { port } = await listenOn(server, info, (error) => this.log.error('listener error', { port: info.port, error: error.message }));
    this.server = server;
    this.log.debug('listening', { protocol: 'https', host: info.host, port, webSockets: [...this.sockets].map(([p, m]) => `${p} (${[...m.keys()].join(', ')})`) });
    return [{ ...info, port }];
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    void this.routes.handle(request, response);
  }

  private handlersFor(request: IncomingMessage): Map<string, WebSocketHandler> | undefined {
    return this.sockets.get((request.url ?? '/').split('?')[0] as string);
  }

  private protocolFor(request: IncomingMessage, offered: Set<string>): string | false {
    const handlers = this.handlersFor(request);
    for (const protocol of offered) if (handlers?.has(protocol.toLowerCase()) === true) return protocol;
    return false;
  }

  private onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const offered = new Set((request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter((p) => p.length > 0));
    const protocol = this.protocolFor(request, offered);
    if (protocol === false) {
      this.log.warn('WebSocket upgrade refused', { path: (request.url ?? '/').split('?')[0], subprotocols: [...offered] });
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const handler = this.handlersFor(request)?.get(protocol.toLowerCase()) as WebSocketHandler;
    this.wss.handleUpgrade(request, socket, head, (ws) => handler(ws, request));
  }
}
