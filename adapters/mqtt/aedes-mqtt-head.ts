// Why this file is long: the hook handlers of aedes (CONNECT, PUBLISH, SUBSCRIBE, forwarding) are
// the IoT Hub MQTT surface in one place; the per-client channel is `MqttConnection` (mqtt-connection.ts).
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { EventEmitter } from 'node:events';
import { inject, injectable } from 'inversify';
import type { IncomingMessage } from 'node:http';
import { type Server, createServer as createTcpServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket, createServer as createTlsServer } from 'node:tls';
import { type ClientOperation, authorize, describeDenial } from '../../domain/identity/authorization.js';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';
import { type Message, MessageTooLargeError } from '../../domain/messages/message.js';
import { TwinValidationError } from '../../domain/twins/twin-limits.js';
import { twinResponseBody } from '../../domain/twins/twin-document.js';
import { AuthenticateClient } from '../../application/hub/authenticate-client.js';
import { AuthenticateCertificate } from '../../application/hub/authenticate-certificate.js';
import { CertificateSessions } from '../../application/hub/certificate-sessions.js';
import { CertificateVerifier } from '../../application/ports/certificate-verifier.js';
import { ClientDirectory } from '../../application/hub/client-directory.js';
import { ConnectionGuard, type Peer } from '../../application/hub/connection-guard.js';
import { HubIdentity } from '../../application/hub/hub-identity.js';
import { IngestMessage } from '../../application/hub/ingest-message.js';
import { MethodService } from '../../application/hub/method-service.js';
import { TwinService } from '../../application/hub/twin-service.js';
import type { ClientFeature } from '../../application/ports/client-channel.js';
import { Clock } from '../../application/ports/clock.js';
import { HostedService, ListenError, type ListenInfo, listenOn } from '../../application/ports/hosted-service.js';
import { Logger } from '../../application/ports/logger.js';
import { DiskFullError, StoreFullError, StoreUnavailableError } from '../../application/ports/message-store.js';
import { StateStore } from '../../application/ports/state-store.js';
import { MqttConnectError, parseMqttConnect } from './connect-claim.js';
import { MqttFrameGuard, type MqttFrameViolation } from './mqtt-frame-guard.js';
import { HUB_BROKER_ID, MqttConnection, errorText } from './mqtt-connection.js';
import { MqttSessionStore } from './mqtt-session-store.js';
import {
  IotHubTopicError,
  type PublishTopic,
  formatTwinResponseTopic,
  operationForPublish,
  operationForSubscription,
  parsePublishTopic,
  parseSubscriptionFilter,
} from './iothub-topics.js';
import type { PropertyBag } from './property-bag.js';

/** Where and how the MQTT head listens (from `hub.mqtt.*` and the edge certificates). */
export class MqttHeadOptions {
  /** TLS listener (the SDKs only speak TLS, iot-sdk-protocol.md §0). */
  host = '0.0.0.0';
  port = 8883;
  /** Server certificate chain and key, PEM. */
  tls: { cert: string; key: string } | undefined = undefined;
  /** Plain-TCP listener for development; 0 = off. */
  plainPort = 0;
  plainHost: string | undefined = undefined;
  /** aedes `drainTimeout`: a client that stops reading is disconnected after this long (perf-and-style §A4). */
  drainTimeoutMs = 30_000;
  /** aedes `concurrency` (in-flight deliveries through its emitter). */
  concurrency = 1000;
  /** Settings named in listen errors. */
  portSetting = 'hub.mqtt.port';
  plainPortSetting = 'hub.mqtt.plainPort';

  constructor(overrides: Partial<MqttHeadOptions> = {}) {
    Object.assign(this, overrides);
  }
}

/** Longest client id: `<128-char device id>/<128-char module id>` (aedes' default is MQTT 3.1's 23). */
const MAX_CLIENT_ID_LENGTH = 257;

const FEATURE_BY_SUBSCRIPTION: Record<string, ClientFeature> = {
  c2d: 'c2d',
  inputs: 'inputs',
  methods: 'methods',
  'twin-responses': 'twin-responses',
  'twin-desired': 'twin-desired',
};

/** A refusal that closes the client's connection (MQTT 3.1.1 has no negative PUBACK). */
class PublishRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublishRefused';
  }
}

/**
 * The MQTT protocol head: IoT Hub's device/module MQTT surface on aedes, over TLS (and an optional
 * plain port for development). Authentication: `parseMqttConnect` + `AuthenticateClient` (SAS
 * password). Authorization: every PUBLISH topic and SUBSCRIBE filter is parsed and checked against
 * the authenticated identity. Telemetry is stored through `IngestMessage` inside
 * `authorizePublish`, which aedes runs before it writes the PUBACK, so a PUBACK means *stored*
 * (perf-and-style.md finding 4). Connected clients are registered in the `ClientDirectory` so twin,
 * method and input delivery services can reach them.
 */
@injectable()
export class AedesMqttHead extends HostedService {
  readonly name = 'mqtt';
  private broker: Aedes | null = null;
  private servers: Server[] = [];
  private readonly connections = new WeakMap<Client, MqttConnection>();
  /** The admitted connection behind each client (absent for streams handed over without one). */
  private readonly peers = new WeakMap<Client, Peer>();
  /** The TLS socket each client came over (its client certificate), when it came over TLS. */
  private readonly tlsSockets = new WeakMap<Client, TLSSocket>();
  private hubCounter = 0;
  private readonly log: Logger;
  private readonly sessions: MqttSessionStore;

  constructor(
    @inject(MqttHeadOptions) private readonly options: MqttHeadOptions,
    @inject(HubIdentity) private readonly hub: HubIdentity,
    @inject(AuthenticateClient) private readonly authenticator: AuthenticateClient,
    @inject(IngestMessage) private readonly ingest: IngestMessage,
    @inject(TwinService) private readonly twins: TwinService,
    @inject(MethodService) private readonly methods: MethodService,
    @inject(ClientDirectory) private readonly directory: ClientDirectory,
    @inject(Clock) private readonly clock: Clock,
    @inject(ConnectionGuard) private readonly guard: ConnectionGuard,
    @inject(StateStore) state: StateStore,
    @inject(Logger) logger: Logger,
    @inject(AuthenticateCertificate) private readonly certificates: AuthenticateCertificate,
    @inject(CertificateSessions) private readonly certificateSessions: CertificateSessions,
    @inject(CertificateVerifier) private readonly verifier: CertificateVerifier,
  ) {
    super();
    this.log = logger.child({ component: 'mqtt' });
    this.sessions = new MqttSessionStore(state);
  }

  nextHubCounter(): number {
    return ++this.hubCounter;
  }

  async start(): Promise<ListenInfo[]> {
    if (this.broker !== null) return [];
    const consumed = new WeakSet<object>();
    const broker = await Aedes.createBroker({
      maxClientsIdLength: MAX_CLIENT_ID_LENGTH,
      drainTimeout: this.options.drainTimeoutMs,
      concurrency: this.options.concurrency,
      // The guard closes a connection that has not authenticated by then; aedes' own timer agrees.
      connectTimeout: this.guard.limits.handshakeTimeoutMs,
      // $SYS heartbeats serve no IoT Hub client (nobody may subscribe to $SYS).
      heartbeatInterval: 24 * 60 * 60 * 1000,
      authenticate: (client, username, password, done) => {
        void this.authenticate(client, username, password).then(
          (ok) => done(ok ? null : Object.assign(new Error('not authorized'), { returnCode: 5 as const }), ok),
          (error: unknown) => {
            this.log.error('authentication failed unexpectedly', { clientId: client.id, error: errorText(error) });
            done(Object.assign(new Error('server unavailable'), { returnCode: 3 as const }), false);
          },
        );
      },
      authorizePublish: (client, packet, done) => {
        if (client === null) return done(new Error('no client'));
        void this.authorizePublish(client, packet).then(
          () => {
            consumed.add(packet);
            done(null);
          },
          (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
        );
      },
      authorizeSubscribe: (client, subscription, done) => done(null, this.authorizeSubscribe(client, subscription)),
      authorizeForward: (client, packet) => this.authorizeForward(client, packet),
    });
    skipFanOut(broker, consumed);
    this.broker = broker;
    broker.on('clientReady', (client) => this.onReady(client));
    broker.on('clientDisconnect', (client) => this.onGone(client, 'disconnected'));
    broker.on('clientError', (client, error) => {
      this.log.debug('client error', { clientId: client.id, error: error.message });
    });
    broker.on('connectionError', (_client, error) => this.log.debug('connection error', { error: error.message }));
    broker.on('unsubscribe', (topics, client) => this.onUnsubscribe(client, topics));
    broker.on('subscribe', (_subscriptions, client) => this.onSubscribed(client));

    const listening: ListenInfo[] = [];
    try {
      if (this.options.tls !== undefined) {
        const server = createTlsServer({ cert: this.options.tls.cert, key: this.options.tls.key, // A client certificate is asked for, never required: SAS clients keep working on the same port.
          requestCert: true,
          rejectUnauthorized: false,
          noDelay: true, handshakeTimeout: this.guard.limits.handshakeTimeoutMs } as Parameters<typeof createTlsServer>[0]);
        // Admission on the raw socket, before the TLS handshake: a refused one costs no handshake.
        server.prependListener('connection', (socket) => this.guard.admit(socket, 'mqtts'));
        server.on('secureConnection', (socket) => {
          socket.setNoDelay(true);
          this.serve(broker, socket, this.guard.peerOf(socket));
        });
        server.on('tlsClientError', (error) => this.log.debug('TLS handshake failed', { error: error.message }));
        listening.push(await this.listen(server, { protocol: 'mqtts', host: this.options.host, port: this.options.port, setting: this.options.portSetting }));
      }
      if (this.options.plainPort !== 0) {
        // noDelay: without it one-in-flight QoS 1 round trips take ~44 ms (perf-and-style.md finding 5).
        const server = createTcpServer({ noDelay: true }, (socket) => {
          const peer = this.guard.admit(socket, 'mqtt');
          if (peer !== undefined) this.serve(broker, socket, peer);
        });
        listening.push(await this.listen(server, { protocol: 'mqtt', host: this.options.plainHost ?? this.options.host, port: this.options.plainPort, setting: this.options.plainPortSetting }));
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
    if (listening.length === 0) this.log.warn('MQTT is enabled but nothing listens: no server certificate for TLS and hub.mqtt.plainPort = 0');
    return listening;
  }

  /**
   * Serves one MQTT connection on an already-open stream: MQTT over WebSocket (the HTTPS listener
   * hands over `/$iothub/websocket` connections with subprotocol `mqtt`). Same broker, same rules.
   */
  handleStream(stream: Duplex, request?: IncomingMessage): void {
    if (this.broker === null) {
      stream.destroy();
      return;
    }
    // The HTTPS listener admitted the connection under its own socket's address.
    this.serve(this.broker, stream, request === undefined ? undefined : this.guard.peerOf(request.socket), request);
  }

  /** Hands `conn` to aedes behind the frame guard, which checks every packet's fixed header before aedes reads its body. */
  private serve(broker: Aedes, conn: Duplex, peer: Peer | undefined, request?: IncomingMessage): void {
    const client = broker.handle(conn, request);
    if (peer !== undefined) this.peers.set(client, peer);
    // The TLS socket whose client certificate counts: the stream itself, or under a WebSocket the upgraded request's.
    const tls = conn instanceof TLSSocket ? conn : request?.socket instanceof TLSSocket ? request.socket : undefined;
    if (tls !== undefined) this.tlsSockets.set(client, tls);
    const limits = this.guard.limits;
    const frames = new MqttFrameGuard(() => (this.connections.has(client) ? limits.maxPacketBytes : limits.preAuthPacketBytes));
    guardReads(conn, frames, (violation) => this.onViolation(client, peer, violation));
    grantQos1ForQos2Subscriptions(client);
  }

  private onViolation(client: Client, peer: Peer | undefined, violation: MqttFrameViolation): void {
    const fields = { ...violation, ...(client.id ? { clientId: client.id } : {}), authenticated: this.connections.has(client) };
    if (peer !== undefined) this.guard.violation(peer, violation.reason, fields);
    else this.log.warn('connection refused by limits', fields);
  }

  async stop(): Promise<void> {
    const broker = this.broker;
    this.broker = null;
    const servers = this.servers.splice(0);
    const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    if (broker !== null) await new Promise<void>((resolve) => broker.close(() => resolve()));
    await Promise.all(closed);
  }

  private async listen(server: Server, info: ListenInfo): Promise<ListenInfo> {
    const { port } = await listenOn(server, info, (error) => this.log.error('listener error', { port: info.port, error: error.message }));
    this.servers.push(server);
    this.log.debug('listening', { protocol: info.protocol, host: info.host, port });
    return { ...info, port };
  }

  // CONNECT ----------------------------------------------------------------------------------

  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<boolean> {
    const acceptedHosts = this.hub.edgeHostName === undefined ? [this.hub.iotHubHostName] : [this.hub.iotHubHostName, this.hub.edgeHostName];
    let claim;
    try {
      claim = parseMqttConnect({ clientId: client.id, username }, acceptedHosts);
    } catch (error) {
      if (error instanceof MqttConnectError) {
        this.loginFailed(client, error.code, error.message);
        return false;
      }
      throw error;
    }
    if (password === undefined || password.length === 0) return await this.authenticateCertificate(client, claim.identity);
    const result = await this.authenticator.execute({
      identity: claim.identity,
      token: password.toString('utf8'),
      iotHubHostName: this.hub.iotHubHostName,
      ...(this.hub.edgeHostName !== undefined ? { edgeHostName: this.hub.edgeHostName } : {}),
    });
    if (!result.ok) {
      // Never log the token: reason and detail are token-free by contract.
      this.loginFailed(client, result.reason, result.detail);
      return false;
    }
    if (client.closed) return false; // went away while we were checking its token
    const connection = new MqttConnection(result.identity, client, this);
    // The SDK reconnects with a fresh token before expiry (iot-sdk-protocol.md §1.7); a client
    // that does not is closed when its token expires.
    this.closeAt(client, connection, result.expiresAtMs, 'token expired, closing connection');
    return await this.admitted(client, connection);
  }

  /** CONNECT without a password: X.509, the client certificate of the TLS handshake authenticates the claimed identity. */
  private async authenticateCertificate(client: Client, identity: Identity): Promise<boolean> {
    const chain = this.verifier.peerChain(this.tlsSockets.get(client));
    const result = await this.certificates.execute(identity, chain);
    if (!result.ok) {
      this.loginFailed(client, result.reason, result.detail);
      return false;
    }
    if (client.closed) return false;
    const connection = new MqttConnection(result.identity, client, this);
    this.closeAt(client, connection, result.expiresAtMs, 'client certificate expired, closing connection');
    connection.untrack = this.certificateSessions.track({ identity: result.identity, chain: chain!, protocol: 'mqtt', close: () => client.close() });
    this.log.debug('client certificate accepted', { clientId: client.id, method: result.method, sha256Thumbprint: result.sha256Thumbprint });
    return await this.admitted(client, connection);
  }

  private closeAt(client: Client, connection: MqttConnection, atMs: number, message: string): void {
    connection.expiryTimer = this.clock.schedule(Math.max(0, atMs - this.clock.now()), () => {
      this.log.info(message, { clientId: client.id });
      client.close();
    });
  }

  /** An authenticated CONNECT: the connection's session is loaded and it counts as authenticated for the limits. */
  private async admitted(client: Client, connection: MqttConnection): Promise<boolean> {
    const peer = this.peers.get(client);
    if (peer !== undefined) this.guard.authenticated(peer);
    if (client.clean) await this.sessions.delete(client.id);
    else connection.stored = await this.sessions.load(client.id);
    connection.watchAcks();
    this.connections.set(client, connection);
    return true;
  }

  /** A refused CONNECT: counted for its source's back-off; logged in full unless the source's refusals are being collapsed. */
  private loginFailed(client: Client, reason: string, detail: string): void {
    const peer = this.peers.get(client);
    const logInFull = peer === undefined || this.guard.loginFailed(peer.source, peer.listener, reason).logInFull;
    if (logInFull) this.log.warn('connection refused', { clientId: client.id, reason, detail, ...(peer !== undefined ? { source: peer.source } : {}) });
  }

  private persistSession(client: Client, connection: MqttConnection): void {
    if (client.clean) return;
    const snapshot = new Map(connection.stored);
    connection.saving = connection.saving
      .then(() => this.sessions.save(client.id, snapshot))
      .catch((error: unknown) => this.log.error('session not saved', { clientId: client.id, error: errorText(error) }));
  }

  private onReady(client: Client): void {
    const connection = this.connections.get(client);
    if (connection === undefined) return;
    connection.ready = true;
    this.log.info('client connected', { clientId: client.id, clean: client.clean, subscriptions: [...connection.features.keys()] });
    this.directory.register(connection);
    // After a hub restart aedes has no session: restore the persisted subscription set.
    const missing = [...connection.stored].filter(([topic]) => !connection.features.has(topic)).map(([topic, qos]) => ({ topic, qos: qos as 0 | 1 }));
    if (missing.length > 0) {
      this.log.info('session restored from storage', { clientId: client.id, subscriptions: missing.map((m) => m.topic) });
      client.subscribe(missing, (error) => {
        if (error) this.log.warn('session restore failed', { clientId: client.id, error: error.message });
      });
    }
  }

  private onGone(client: Client, why: string): void {
    const connection = this.connections.get(client);
    if (connection === undefined || connection.closed) return;
    connection.closed = true;
    connection.expiryTimer?.cancel();
    connection.untrack?.();
    connection.fail(new Error(why));
    this.directory.unregister(connection);
    this.log.info('client disconnected', { clientId: client.id });
  }

  // SUBSCRIBE --------------------------------------------------------------------------------

  private authorizeSubscribe(client: Client, subscription: Subscription): Subscription | null {
    const connection = this.connections.get(client);
    if (connection === undefined) return null;
    let topic;
    try {
      topic = parseSubscriptionFilter(subscription.topic);
    } catch (error) {
      if (!(error instanceof IotHubTopicError)) throw error;
      this.log.warn('subscription refused', { clientId: client.id, filter: subscription.topic, reason: error.code, detail: error.message });
      return null;
    }
    const operation = operationForSubscription(topic);
    const decision = authorize(connection.identity, operation);
    if (!decision.allowed) {
      this.log.warn('subscription refused', { clientId: client.id, filter: subscription.topic, reason: decision.reason, detail: describeDenial(connection.identity, operation, decision.reason) });
      return null;
    }
    const feature = FEATURE_BY_SUBSCRIPTION[topic.kind];
    if (feature !== undefined) {
      connection.features.set(subscription.topic, feature);
      // Announced once aedes has written the SUBACK ('subscribe' event): a delivery must not overtake it.
      connection.featuresChanged = true;
    }
    const qos = subscription.qos >= 1 ? 1 : 0;
    if (connection.stored.get(subscription.topic) !== qos) {
      connection.stored.set(subscription.topic, qos);
      this.persistSession(client, connection);
    }
    return subscription;
  }

  /** After the SUBACK: the connection's new features (inputs, C2D, methods) become reachable. */
  private onSubscribed(client: Client): void {
    const connection = this.connections.get(client);
    if (connection === undefined || !connection.featuresChanged) return;
    connection.featuresChanged = false;
    if (connection.ready) this.directory.changed(connection.identity);
  }

  private onUnsubscribe(client: Client, topics: string[]): void {
    const connection = this.connections.get(client);
    if (connection === undefined) return;
    let changed = false;
    for (const t of topics) changed = connection.features.delete(t) || changed;
    if (changed && connection.ready) this.directory.changed(connection.identity);
    let removed = false;
    for (const t of topics) removed = connection.stored.delete(t) || removed;
    if (removed) this.persistSession(client, connection);
  }

  private authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    // Clients only ever receive what the hub sends them. A client's own PUBLISH is never forwarded
    // (a module subscribed with edgeHub's `devices/<d>/modules/<m>/#` would get its outputs echoed),
    // nor an input or C2D copy an earlier version left in aedes' session store (the pump redelivers
    // those from the durable store).
    return (packet as AedesPublishPacket & { brokerId?: string }).brokerId === HUB_BROKER_ID ? packet : null;
  }

  // PUBLISH ----------------------------------------------------------------------------------

  private async authorizePublish(client: Client, packet: PublishPacket): Promise<void> {
    const connection = this.connections.get(client);
    if (connection === undefined) throw new PublishRefused('not authenticated');
    let topic: PublishTopic;
    try {
      topic = parsePublishTopic(packet.topic);
    } catch (error) {
      if (!(error instanceof IotHubTopicError)) throw error;
      this.log.warn('publish refused, closing connection', { clientId: client.id, topic: packet.topic.slice(0, 200), reason: error.code, detail: error.message });
      throw new PublishRefused(error.message);
    }
    const operation: ClientOperation = operationForPublish(topic);
    const decision = authorize(connection.identity, operation);
    if (!decision.allowed) {
      this.log.warn('publish refused, closing connection', { clientId: client.id, topic: packet.topic.slice(0, 200), reason: decision.reason, detail: describeDenial(connection.identity, operation, decision.reason) });
      throw new PublishRefused(decision.reason);
    }
    // Nothing is retained: no client may subscribe to what others publish.
    packet.retain = false;
    const payload = packet.payload === undefined ? Buffer.alloc(0) : typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    switch (topic.kind) {
      case 'telemetry':
        return await this.onTelemetry(client, connection, topic.bag, payload);
      case 'twin-get':
        return await this.onTwinGet(connection, topic.requestId);
      case 'twin-patch-reported':
        return await this.onReportedPatch(connection, topic.requestId, payload);
      case 'method-response':
        this.methods.handleResponse(connection.identity, topic.requestId, topic.status, payload);
        return;
    }
  }

  private async onTelemetry(client: Client, connection: MqttConnection, bag: PropertyBag, payload: Buffer): Promise<void> {
    const identity = connection.identity;
    // The bag was decoded for this PUBLISH alone: its objects become the message's (ingest copies the system properties it sets).
    const message: Message = { body: payload, properties: bag.properties, systemProperties: bag.systemProperties };
    try {
      await this.ingest.ingest(message, identity.kind === 'module' ? { deviceId: identity.deviceId, moduleId: identity.moduleId } : { deviceId: identity.deviceId });
    } catch (error) {
      if (error instanceof MessageTooLargeError || error instanceof StoreFullError || error instanceof DiskFullError || error instanceof StoreUnavailableError) {
        // No PUBACK: MQTT 3.1.1 cannot refuse a PUBLISH, so the connection is closed (IoT Hub does
        // the same for oversize messages); the client keeps the message and may retry later.
        this.log.warn('message refused, closing connection', { clientId: client.id, reason: error.code, detail: error.message });
        throw new PublishRefused(error.message);
      }
      this.log.error('message not stored, closing connection', { clientId: client.id, error: errorText(error) });
      throw error;
    }
  }

  private async onTwinGet(connection: MqttConnection, requestId: string): Promise<void> {
    try {
      const twin = await this.twins.get(connection.identity);
      connection.publish0(formatTwinResponseTopic(200, requestId), Buffer.from(JSON.stringify(twinResponseBody(twin))));
    } catch (error) {
      this.log.error('twin read failed', { identity: formatIdentity(connection.identity), error: errorText(error) });
      connection.publish0(formatTwinResponseTopic(500, requestId), Buffer.from(JSON.stringify({ errorCode: 500001, message: 'twin could not be read' })));
    }
  }

  private async onReportedPatch(connection: MqttConnection, requestId: string, payload: Buffer): Promise<void> {
    let patch: unknown;
    try {
      patch = JSON.parse(payload.toString('utf8'));
    } catch {
      connection.publish0(formatTwinResponseTopic(400, requestId), Buffer.from(JSON.stringify({ errorCode: 400004, message: 'reported properties patch is not valid JSON' })));
      return;
    }
    try {
      const { version } = await this.twins.updateReported(connection.identity, patch);
      // IoT Hub answers 204 with an empty body and the new version (iot-sdk-protocol.md §1.5).
      connection.publish0(formatTwinResponseTopic(204, requestId, version), Buffer.alloc(0));
    } catch (error) {
      if (error instanceof TwinValidationError) {
        this.log.warn('reported patch refused', { identity: formatIdentity(connection.identity), reason: error.code, detail: error.message });
        connection.publish0(formatTwinResponseTopic(400, requestId), Buffer.from(JSON.stringify({ errorCode: 400004, message: error.message })));
        return;
      }
      this.log.error('reported patch failed', { identity: formatIdentity(connection.identity), error: errorText(error) });
      connection.publish0(formatTwinResponseTopic(500, requestId), Buffer.from(JSON.stringify({ errorCode: 500001, message: 'reported properties could not be stored' })));
    }
  }
}

/**
 * Puts `guard` between `stream` and its reader (aedes reads with `stream.read()` on 'readable'):
 * every chunk is checked as it is read, and on a violation the stream is destroyed and the chunk
 * never reaches the parser. This wraps `read` of our own stream object only; aedes is unchanged.
 */
function guardReads(stream: Duplex, guard: MqttFrameGuard, onViolation: (violation: MqttFrameViolation) => void): void {
  const read = stream.read;
  stream.read = function (this: Duplex, size?: number): unknown {
    const chunk: unknown = read.call(this, size);
    if (chunk === null || !(chunk instanceof Uint8Array)) return chunk;
    const violation = guard.feed(chunk);
    if (violation === undefined) return chunk;
    onViolation(violation);
    stream.destroy();
    return null;
  } as Duplex['read'];
}

/**
 * Every client PUBLISH is consumed by `authorizePublish` (telemetry stored by the pipeline, twin and
 * method traffic answered), and `authorizeForward` would drop it for every subscriber anyway; aedes'
 * fan-out of it (its emitter's topic match, the offline-session scan, the `publish` event) cost a
 * sixth of the routed path's CPU for nothing. aedes calls `broker.publish` with the very packet it
 * authorized, after writing the PUBACK: for a consumed one it is done at once. Anything else (a will,
 * aedes' own `$SYS` notices) goes through aedes as before.
 */
function skipFanOut(broker: Aedes, consumed: WeakSet<object>): void {
  // At run time aedes' handlers call `publish(packet, client, done)`; its typings list `(packet, done)`.
  type Done = (error?: Error) => void;
  const publish = broker.publish.bind(broker) as unknown as (packet: AedesPublishPacket, client: Client | Done | null, done?: Done) => void;
  (broker as unknown as { publish: typeof publish }).publish = (packet, client, done) => {
    if (!consumed.delete(packet)) return publish(packet, client, done);
    const callback = typeof client === 'function' ? client : done;
    callback?.();
  };
}

/**
 * IoT Hub grants QoS 1 to a SUBSCRIBE asking for QoS 2 (it has no QoS 2). aedes answers the QoS a
 * SUBSCRIBE asks for, taken before `authorizeSubscribe` runs, and has no hook between its parser
 * and its handlers: lower the request on the parsed packet, in a listener that runs before aedes'
 * own (`_parser` is aedes' per-client mqtt-packet parser; the QoS 2 tests catch a change).
 */
function grantQos1ForQos2Subscriptions(client: Client): void {
  const parser = (client as unknown as { _parser?: EventEmitter })._parser;
  parser?.prependListener('packet', (packet: { cmd?: string; subscriptions?: Array<{ qos: number }> }) => {
    if (packet.cmd !== 'subscribe' || packet.subscriptions === undefined) return;
    for (const subscription of packet.subscriptions) if (subscription.qos > 1) subscription.qos = 1;
  });
}
