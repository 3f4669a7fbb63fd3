import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AmqpServer } from '../../../adapters/amqp/amqp-server.js';
import { peerCertificateChain } from '../../../adapters/crypto/peer-certificate-chain.js';
import { type AmqpAuthRequest, type AmqpAuthResult, type AmqpCertificateRequest, type AmqpBackend, type AmqpClient, AmqpCondition, AmqpRefusal, type TwinReply } from '../../../adapters/amqp/amqp-backend.js';
import { type Identity, formatIdentity, moduleIdentity, parseIdentity, sameIdentity } from '../../../domain/identity/identity.js';
import type { Message } from '../../../domain/messages/message.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../../../domain/twins/json.js';
import { applyDesiredPatch, applyReportedPatch, twinResponseBody } from '../../../domain/twins/twin-document.js';
import { ensureEdgeCertificates } from '../../../infrastructure/certs/edge-certificates.js';
import { freePort } from '../free-port.js';
import { SilentLogger } from '../pipeline-harness.js';
import { Registry } from './registry.js';

export interface ReceivedMessage {
  readonly identity: string;
  readonly message: Message;
  readonly at: number;
}

export interface MethodOutcome {
  readonly status: number;
  readonly payload: JsonValue;
}

interface PendingMethod {
  readonly identity: Identity;
  readonly resolve: (outcome: MethodOutcome) => void;
  readonly timer: NodeJS.Timeout;
}

const decoder = new TextDecoder();

/**
 * An IoT Hub stand-in for tests, on the edge hub's AMQP server core (`AmqpServer` with this
 * emulator as its `AmqpBackend`): AMQP over TLS (device/module data plane: CBS, D2C, C2D, twins,
 * desired notifications, direct methods), the edge device's HTTPS identity APIs (device scope,
 * module identities), and an in-process service API (set desired, invoke a method, send C2D, read
 * received messages, stop/restart, count connections).
 */
export class IotHubEmulator implements AmqpBackend {
  readonly registry: Registry;
  readonly received: ReceivedMessage[] = [];
  /** TLS connections accepted so far / open now. */
  connectionsOpened = 0;
  private readonly sockets = new Set<TLSSocket>();
  private readonly clients = new Set<AmqpClient>();
  private readonly methods = new Map<string, PendingMethod>();
  private readonly c2dQueues = new Map<string, Array<{ message: Message; settle: (outcome: string) => void }>>();
  private amqp: AmqpServer | undefined;
  private tls: TlsServer | undefined;
  private https: HttpsServer | undefined;
  /** Authentication failures, and successful put-tokens per identity (renewals included), for assertions. */
  readonly refusals: string[] = [];
  readonly authentications = new Map<string, number>();
  /** Nested-edge scope requests served (`devicesAndModulesInTargetDeviceScope`). */
  targetScopeRequests = 0;
  /** Successful X.509 authentications per identity (TLS client certificate, no token). */
  readonly certificateAuthentications = new Map<string, number>();
  private dir = '';
  ca = '';
  private cert = { cert: '', key: '' };
  amqpPort = 0;
  httpsPort = 0;
  readonly logger = new SilentLogger();
  /** Tests: a description refuses a D2C message (its transfer, a whole batch, is rejected with it). */
  refuseMessage: ((identity: string, message: Message) => string | undefined) | undefined;
  private readonly receivedListeners = new Set<() => void>();

  constructor(readonly hostName = 'emulator.azure-devices.net') {
    this.registry = new Registry(hostName);
  }

  // ---- lifecycle -------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.dir === '') {
      this.dir = await mkdtemp(join(tmpdir(), 'edgeport-iothub-emulator-'));
      const certs = await ensureEdgeCertificates({ dir: this.dir, hostname: 'localhost' });
      this.ca = certs.caCertPem;
      this.cert = { cert: certs.serverCertPem, key: certs.serverKeyPem };
    }
    if (this.amqpPort === 0) this.amqpPort = await freePort();
    if (this.httpsPort === 0) this.httpsPort = await freePort();
    const amqp = new AmqpServer(this, this.logger, { host: '127.0.0.1', port: this.amqpPort, tls: this.cert, idleTimeoutMs: 0, peerChain: peerCertificateChain });
    // TLS client auth: a certificate is asked for, never required (SAS devices send none).
    const tls = createTlsServer({ ...this.cert, requestCert: true, rejectUnauthorized: false }, (socket: TLSSocket) => {
      this.connectionsOpened++;
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      amqp.accept(socket);
    });
    tls.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      tls.once('error', reject);
      tls.listen(this.amqpPort, '127.0.0.1', () => resolve());
    });
    const https = createHttpsServer({ ...this.cert, requestCert: true, rejectUnauthorized: false }, (req, res) => void this.serveHttps(req, res));
    await new Promise<void>((resolve, reject) => {
      https.once('error', reject);
      https.listen(this.httpsPort, '127.0.0.1', () => resolve());
    });
    this.amqp = amqp;
    this.tls = tls;
    this.https = https;
  }

  /** Simulates an outage: every connection drops and nothing listens until `start()` (same ports). */
  async stop(): Promise<void> {
    const amqp = this.amqp;
    const tls = this.tls;
    const https = this.https;
    this.amqp = undefined;
    this.tls = undefined;
    this.https = undefined;
    await amqp?.stop();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (tls !== undefined) await new Promise<void>((resolve) => tls.close(() => resolve()));
    if (https !== undefined) {
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    }
    for (const pending of this.methods.values()) {
      clearTimeout(pending.timer);
      pending.resolve({ status: 503, payload: { message: 'emulator stopped' } });
    }
    this.methods.clear();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Stops and removes the certificate directory. */
  async close(): Promise<void> {
    await this.stop();
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true });
  }

  /** TLS connections open right now. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Authenticated identities per open AMQP connection id. */
  identitiesByConnection(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const c of this.clients) {
      const list = out.get(c.connectionId) ?? [];
      list.push(formatIdentity(c.identity));
      out.set(c.connectionId, list);
    }
    return out;
  }

  // ---- registry helpers for tests ---------------------------------------------------------

  /** A device connection string through this emulator (`GatewayHostName=localhost:<amqp port>`). */
  connectionString(id: string): string {
    const entry = this.registry.get(parseIdentity(id));
    if (entry === undefined) throw new Error(`${id} is not registered`);
    const ids = entry.identity.kind === 'device' ? `DeviceId=${entry.identity.deviceId}` : `DeviceId=${entry.identity.deviceId};ModuleId=${entry.identity.moduleId}`;
    return `HostName=${this.hostName};${ids};SharedAccessKey=${entry.primaryKey};GatewayHostName=localhost:${this.amqpPort}`;
  }

  /** An X.509 device connection string through this emulator (`x509=true`, no key). */
  x509ConnectionString(id: string): string {
    return this.connectionString(id).replace(/;SharedAccessKey=[^;]*/, ';x509=true');
  }

  // ---- service API ------------------------------------------------------------------------

  /** Messages received from `id` (`dev` or `dev/mod`), or all. */
  messages(id?: string): Message[] {
    return this.received.filter((r) => id === undefined || r.identity === id).map((r) => r.message);
  }

  /** Resolves when `predicate` holds over the received messages (checked on every arrival). */
  async waitForMessages(predicate: (received: readonly ReceivedMessage[]) => boolean, timeoutMs: number, what = 'messages'): Promise<void> {
    if (predicate(this.received)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.receivedListeners.delete(check);
        reject(new Error(`emulator: timed out after ${timeoutMs} ms waiting for ${what} (received ${this.received.length})`));
      }, timeoutMs);
      const check = (): void => {
        if (!predicate(this.received)) return;
        clearTimeout(timer);
        this.receivedListeners.delete(check);
        resolve();
      };
      this.receivedListeners.add(check);
    });
  }

  twin(id: string) {
    const entry = this.registry.get(parseIdentity(id));
    if (entry === undefined) throw new Error(`${id} is not registered`);
    return entry.twin;
  }

  /** Service-side desired patch: stored with a new `$version`, pushed to the identity's listening clients. */
  setDesired(id: string, patch: JsonObject): number {
    const identity = parseIdentity(id);
    const entry = this.registry.get(identity);
    if (entry === undefined) throw new Error(`${id} is not registered`);
    const { $version: _ignored, ...rest } = patch;
    void _ignored;
    const update = applyDesiredPatch(entry.twin, rest);
    if (!update.applied) throw new Error('desired patch not applied');
    entry.twin = update.twin;
    for (const client of this.clients) {
      if (sameIdentity(client.identity, identity) && client.has('twin-desired')) client.sendDesiredPatch(update.patch, update.version);
    }
    return update.version;
  }

  /**
   * Pushes `body` as a desired notification without storing it, for tests of what the edge does with
   * a notification IoT Hub would never send (a JSON array, a string). Returns how many clients got it.
   */
  pushRawDesired(id: string, body: JsonValue): number {
    const identity = parseIdentity(id);
    let sent = 0;
    for (const client of this.clients) {
      if (!sameIdentity(client.identity, identity) || !client.has('twin-desired')) continue;
      // The client serializes whatever it is handed: the cast is the point of this method.
      client.sendDesiredPatch(body as JsonObject, 0);
      sent++;
    }
    return sent;
  }

  /** Invokes a direct method like the service API does: 404 when no client listens, 504 on timeout. */
  invokeMethod(id: string, methodName: string, payload: JsonValue, timeoutMs = 30_000): Promise<MethodOutcome> {
    const identity = parseIdentity(id);
    const client = [...this.clients].find((c) => sameIdentity(c.identity, identity) && c.has('methods'));
    if (client === undefined) return Promise.resolve({ status: 404, payload: { errorCode: 404103, message: `${id} is not online` } });
    const requestId = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.methods.delete(requestId)) resolve({ status: 504, payload: { errorCode: 504101, message: 'timed out' } });
      }, timeoutMs);
      this.methods.set(requestId, { identity, resolve, timer });
      client.sendMethodRequest(methodName, requestId, new TextEncoder().encode(JSON.stringify(payload)));
    });
  }

  /** Queues a C2D message for `deviceId`; resolves with the device's settlement (`completed`, `rejected`, `abandoned`). */
  sendC2d(deviceId: string, message: Message): Promise<string> {
    return new Promise((resolve) => {
      const queue = this.c2dQueues.get(deviceId) ?? [];
      queue.push({ message, settle: resolve });
      this.c2dQueues.set(deviceId, queue);
      this.flushC2d(deviceId);
    });
  }

  private flushC2d(deviceId: string): void {
    const queue = this.c2dQueues.get(deviceId);
    if (queue === undefined || queue.length === 0) return;
    const client = [...this.clients].find((c) => c.identity.kind === 'device' && c.identity.deviceId === deviceId && c.has('c2d'));
    if (client === undefined) return;
    const item = queue.shift()!;
    client.sendC2d(item.message).then(
      () => item.settle('completed'),
      (error: unknown) => {
        const transient = (error as { transient?: boolean }).transient === true;
        if (transient) {
          queue.unshift(item);
        } else item.settle('rejected');
      },
    ).finally(() => this.flushC2d(deviceId));
  }

  // ---- AmqpBackend ------------------------------------------------------------------------

  async authenticate(request: AmqpAuthRequest): Promise<AmqpAuthResult> {
    const result = this.registry.check(request.identity, request.token, Date.now());
    const key = formatIdentity(request.identity);
    if (!result.ok) this.refusals.push(`${key}: ${result.description}`);
    else this.authentications.set(key, (this.authentications.get(key) ?? 0) + 1);
    return result;
  }

  async authenticateCertificate(request: AmqpCertificateRequest): Promise<AmqpAuthResult> {
    const result = this.registry.checkCertificate(request.identity, request.chain, Date.now());
    const key = formatIdentity(request.identity);
    if (!result.ok) this.refusals.push(`${key}: ${result.description}`);
    else this.certificateAuthentications.set(key, (this.certificateAuthentications.get(key) ?? 0) + 1);
    return result;
  }

  clientConnected(client: AmqpClient): void {
    this.clients.add(client);
  }

  clientChanged(client: AmqpClient): void {
    if (client.identity.kind === 'device' && client.has('c2d')) this.flushC2d(client.identity.deviceId);
  }

  clientDisconnected(client: AmqpClient): void {
    this.clients.delete(client);
  }

  async receiveMessage(client: AmqpClient, message: Message): Promise<void> {
    const refusal = this.refuseMessage?.(formatIdentity(client.identity), message);
    if (refusal !== undefined) throw new AmqpRefusal(AmqpCondition.notAllowed, refusal);
    this.received.push({ identity: formatIdentity(client.identity), message, at: Date.now() });
    for (const listener of [...this.receivedListeners]) listener();
  }

  async getTwin(client: AmqpClient): Promise<TwinReply> {
    const entry = this.registry.get(client.identity);
    if (entry === undefined) return { status: 404, body: { message: 'not registered' } };
    return { status: 200, body: twinResponseBody(entry.twin), version: entry.twin.desired.$version };
  }

  async patchReported(client: AmqpClient, patch: JsonValue): Promise<TwinReply> {
    const entry = this.registry.get(client.identity);
    if (entry === undefined) return { status: 404, body: { message: 'not registered' } };
    try {
      const update = applyReportedPatch(entry.twin, patch);
      entry.twin = update.twin;
      return { status: 204, version: update.version };
    } catch (error) {
      return { status: 400, body: { message: (error as Error).message } };
    }
  }

  methodResponse(client: AmqpClient, requestId: string, status: number, payload: Uint8Array): void {
    const pending = this.methods.get(requestId);
    if (pending === undefined || !sameIdentity(pending.identity, client.identity)) return;
    this.methods.delete(requestId);
    clearTimeout(pending.timer);
    const text = decoder.decode(payload);
    let value: JsonValue = null;
    try {
      value = text === '' ? null : (JSON.parse(text) as JsonValue);
    } catch {
      value = text;
    }
    pending.resolve({ status, payload: value });
  }

  // ---- HTTPS identity APIs of the edge device -----------------------------------------------

  private async serveHttps(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body?: unknown): void => {
      const text = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'https://emulator');
    const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
    // /devices/<d>/modules/$edgeHub/devicesAndModulesInDeviceScope | /devices/<d>/modules[/<m>]
    if (parts[0] !== 'devices' || parts[1] === undefined || parts[2] !== 'modules') return send(404, { message: 'unknown resource' });
    const edgeId = parts[1];
    const peer = (req.socket as TLSSocket).getPeerCertificate?.(true);
    const caller =
      req.headers.authorization === undefined && peer?.raw !== undefined
        ? this.registry.checkCertificate({ kind: 'device', deviceId: edgeId }, [new Uint8Array(peer.raw)], Date.now())
        : this.registry.check({ kind: 'device', deviceId: edgeId }, String(req.headers.authorization ?? ''), Date.now());
    if (!caller.ok) return send(401, { message: caller.description });
    const edge = this.registry.get({ kind: 'device', deviceId: edgeId });
    if (edge === undefined || !edge.edge) return send(403, { message: `${edgeId} is not an edge device` });
    const item = (e: ReturnType<Registry['all']>[number]) => ({
      deviceId: e.identity.deviceId,
      ...(e.identity.kind === 'module' ? { moduleId: e.identity.moduleId } : {}),
      generationId: e.generationId,
      status: e.status,
      authentication:
        e.x509 === undefined
          ? { type: 'sas', symmetricKey: { primaryKey: e.primaryKey, secondaryKey: e.secondaryKey } }
          : e.x509.type === 'selfSigned'
            ? { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: e.x509.thumbprints[0] ?? null, secondaryThumbprint: e.x509.thumbprints[1] ?? null } }
            : { type: 'certificateAuthority', x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null } },
      ...(e.parent !== undefined ? { parentScopes: [e.parent] } : {}),
    });
    if (req.method === 'POST' && parts[3] === '$edgeHub' && parts[4] === 'devicesAndModulesInDeviceScope') {
      return send(200, { items: this.registry.scopeOf(edgeId).map(item), continuationLink: null });
    }
    if (req.method === 'POST' && parts[3] === '$edgeHub' && parts[4] === 'devicesAndModulesInTargetDeviceScope') {
      // Nested edge: a parent asks for the scope of an edge device below it, with its own token.
      const body = chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { targetDeviceId?: unknown });
      const target = typeof body.targetDeviceId === 'string' ? this.registry.get({ kind: 'device', deviceId: body.targetDeviceId }) : undefined;
      if (target === undefined || !target.edge) return send(404, { message: `${String(body.targetDeviceId)} is not an edge device` });
      if (!this.registry.isDescendant(target.identity.deviceId, edgeId)) return send(403, { message: `${target.identity.deviceId} is not in the scope of ${edgeId}` });
      this.targetScopeRequests++;
      return send(200, { items: this.registry.scopeOf(target.identity.deviceId).map(item), continuationLink: null });
    }
    if (req.method === 'GET' && parts.length === 3) return send(200, this.registry.scopeOf(edgeId).filter((e) => e.identity.kind === 'module').map(item));
    if (req.method === 'PUT' && parts.length === 4) {
      const body = chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      if (!isJsonObject(body as JsonValue)) return send(400, { message: 'body must be a module identity object' });
      return send(200, item(this.registry.add(formatIdentity(moduleIdentity(edgeId, parts[3]!)))));
    }
    return send(405, { message: 'not supported by the emulator' });
  }
}
