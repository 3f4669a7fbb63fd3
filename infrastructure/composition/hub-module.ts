import { ContainerModule } from 'inversify';
import { ApplyHubDeployment } from '../../application/hub/apply-hub-deployment.js';
import { AuthenticateClient } from '../../application/hub/authenticate-client.js';
import { AuthenticateCertificate, X509AuthOptions } from '../../application/hub/authenticate-certificate.js';
import { CertificateSessions } from '../../application/hub/certificate-sessions.js';
import { CertificateVerifier } from '../../application/ports/certificate-verifier.js';
import { NodeCertificateVerifier } from '../../adapters/crypto/node-certificate-verifier.js';
import { ClientDirectory } from '../../application/hub/client-directory.js';
import { ClientEndpointDelivery } from '../../application/hub/client-endpoint-delivery.js';
import { CloudToDeviceOptions, CloudToDeviceService } from '../../application/hub/cloud-to-device-service.js';
import { ConnectionGuard } from '../../application/hub/connection-guard.js';
import { ConnectionLimits } from '../../application/hub/connection-limits.js';
import { DeliverStoredMessages } from '../../application/hub/deliver-stored-messages.js';
import { HubIdentity } from '../../application/hub/hub-identity.js';
import { IngestLifecycle } from '../../application/hub/ingest-lifecycle.js';
import { IngestMessage } from '../../application/hub/ingest-message.js';
import { MethodService } from '../../application/hub/method-service.js';
import { PipelineMetrics } from '../../application/hub/pipeline-metrics.js';
import { PipelineOptions } from '../../application/hub/pipeline-options.js';
import { ProtectIdentityKeys } from '../../application/hub/protect-identity-keys.js';
import { QueueSignal } from '../../application/hub/queue-signal.js';
import { RouteConfig } from '../../application/hub/route-config.js';
import { StateIdentityStore } from '../../application/hub/state-identity-store.js';
import { TwinService } from '../../application/hub/twin-service.js';
import { TwinStore } from '../../application/hub/twin-store.js';
import { TrafficReport } from '../../application/hub/traffic-report.js';
import { Clock } from '../../application/ports/clock.js';
import { Logger } from '../../application/ports/logger.js';
import { Metrics } from '../../application/ports/metrics.js';
import { SasSigner } from '../../application/ports/crypto.js';
import { EndpointDelivery } from '../../application/ports/endpoint-delivery.js';
import { HostedService } from '../../application/ports/hosted-service.js';
import { IdentityStore } from '../../application/ports/identity-store.js';
import { RandomSource } from '../../application/ports/random-source.js';
import { NodeSasSigner } from '../../adapters/crypto/node-crypto.js';
import { HttpsListener, HttpsListenerOptions, webSocketStream } from '../../adapters/http/https-listener.js';
import { ModuleMethodsApi } from '../../adapters/http/method-calls.js';
import { AedesMqttHead, MqttHeadOptions } from '../../adapters/mqtt/aedes-mqtt-head.js';
import { AmqpHeadOptions, AmqpHubHead } from '../../adapters/amqp/amqp-hub-head.js';
import { EdgeHubAmqpBackend } from '../../adapters/amqp/edge-hub-amqp-backend.js';
import { CryptoRandomSource } from '../../adapters/random/crypto-random-source.js';

/** Where the SDKs' WebSocket transports connect (`wss://<gateway>:443/$iothub/websocket`). */
export const IOTHUB_WEBSOCKET_PATH = '/$iothub/websocket';

export interface HubModuleOptions {
  /** config `deviceId`: module endpoints and twin-change notifications belong to this device. */
  edgeDeviceId: string;
  /** config `iotHubHostname`: the host SAS tokens and MQTT usernames name. */
  iotHubHostname: string;
  /** config `hostname`: also accepted in `sr` and usernames (edgeHub accepts the edge host name). */
  edgeHostname?: string;
  mqtt: {
    enabled: boolean;
    host: string;
    port: number;
    /** 0 = off. */
    plainPort: number;
    /** Server certificate and key PEM (from `ensureEdgeCertificates`); without it no TLS listener. */
    tls?: { cert: string; key: string };
  };
  /** The AMQP head (`hub.amqp.*`): AMQP 1.0 over TLS for `azure-iot-device-amqp` clients. */
  amqp?: {
    enabled: boolean;
    host: string;
    port: number;
    /** Server certificate and key PEM; without it no listener. */
    tls?: { cert: string; key: string };
    /** `AmqpHeadOptions.creditWindow` (default 1000). */
    creditWindow?: number;
  };
  /**
   * The HTTPS listener (`hub.https.*`): module-to-module methods (`POST /twins/.../methods`) and
   * MQTT over WebSocket (`/$iothub/websocket`, subprotocol `mqtt`). Other heads register their
   * WebSocket subprotocols with `onActivation(HttpsListener, ...)` in their own module.
   */
  https?: { enabled: boolean; host: string; port: number; tls?: { cert: string; key: string } };
  /** IoT Hub's C2D limits (tests shorten them). */
  c2d?: Partial<CloudToDeviceOptions>;
  /**
   * Take routes, store-and-forward TTL and module twins from the bound `DeploymentSource`
   * (deployment module). Needs `pipeline`.
   */
  deployment?: boolean;
  /** Pipeline settings (`hub.storeAndForward`); omit `pipeline` to bind the pipeline elsewhere. */
  pipeline?: { timeToLiveSecs: number; maxStoreBytes: number; deliveryBatchSize?: number; upstreamConfigured?: boolean };
  /** Log message counts every this many ms while messages flow (`TrafficReport`; default 10 000, 0 = off). */
  trafficReportIntervalMs?: number;
  /** Connection limits of every listener (`hub.limits.*`); omitted fields keep `ConnectionLimits`' defaults. */
  limits?: Partial<ConnectionLimits>;
  /** X.509 client authentication (`hub.x509.*`): trusted CA PEMs (already read) and the revocation check interval. */
  x509?: Partial<X509AuthOptions>;
}

/**
 * The edge hub: pipeline (ingest, pumps), identity registry (in the StateStore), twins, methods,
 * the client directory and module-input delivery, and the MQTT head. Needs `coreModule` (Clock,
 * Logger, Metrics) and `storageModule` (MessageStore, StateStore, StorageLifecycle) loaded
 * first: hosted services start in binding order (storage, pumps, then the head).
 */
export function hubModule(options: HubModuleOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(HubIdentity).toConstantValue(new HubIdentity(options.edgeDeviceId, options.iotHubHostname, options.edgeHostname));
    // First of the hub's parts: identity keys are encrypted (and readable) before anything uses them.
    bind(ProtectIdentityKeys).toSelf().inSingletonScope();
    bind(HostedService).toService(ProtectIdentityKeys);
    if (options.pipeline !== undefined) {
      const maxStoreBytes = options.pipeline.maxStoreBytes > 0 ? options.pipeline.maxStoreBytes : Number.POSITIVE_INFINITY;
      bind(PipelineOptions).toConstantValue(
        new PipelineOptions({
          timeToLiveSecs: options.pipeline.timeToLiveSecs,
          maxStoreBytes,
          ...(options.pipeline.deliveryBatchSize !== undefined ? { deliveryBatchSize: options.pipeline.deliveryBatchSize } : {}),
          ...(options.pipeline.upstreamConfigured !== undefined ? { upstreamConfigured: options.pipeline.upstreamConfigured } : {}),
        }),
      );
      bind(RandomSource).to(CryptoRandomSource).inSingletonScope();
      bind(RouteConfig).toSelf().inSingletonScope();
      bind(QueueSignal).toSelf().inSingletonScope();
      bind(PipelineMetrics).toSelf().inSingletonScope();
      bind(IngestMessage).toSelf().inSingletonScope();
      bind(DeliverStoredMessages).toSelf().inSingletonScope();
      bind(HostedService).toService(DeliverStoredMessages);
      bind(IngestLifecycle).toSelf().inSingletonScope();
      bind(HostedService).toService(IngestLifecycle);
      const reportEvery = options.trafficReportIntervalMs ?? 10_000;
      if (reportEvery > 0) {
        bind(HostedService)
          .toDynamicValue((context) => new TrafficReport(context.get(Metrics), context.get(Clock), context.get(Logger), reportEvery))
          .inSingletonScope();
      }
    }
    bind(ClientDirectory).toSelf().inSingletonScope();
    bind(ConnectionLimits).toConstantValue(new ConnectionLimits(options.limits));
    bind(ConnectionGuard).toSelf().inSingletonScope();
    bind(ClientEndpointDelivery).toSelf().inSingletonScope();
    bind(EndpointDelivery).toService(ClientEndpointDelivery);
    bind(SasSigner).to(NodeSasSigner).inSingletonScope();
    bind(StateIdentityStore).toSelf().inSingletonScope();
    bind(IdentityStore).toService(StateIdentityStore);
    bind(AuthenticateClient).toSelf().inSingletonScope();
    bind(X509AuthOptions).toConstantValue(new X509AuthOptions(options.x509));
    bind(CertificateVerifier).to(NodeCertificateVerifier).inSingletonScope();
    bind(AuthenticateCertificate).toSelf().inSingletonScope();
    bind(CertificateSessions).toSelf().inSingletonScope();
    bind(HostedService).toService(CertificateSessions);
    bind(TwinStore).toSelf().inSingletonScope();
    bind(TwinService).toSelf().inSingletonScope();
    bind(MethodService).toSelf().inSingletonScope();
    bind(CloudToDeviceOptions).toConstantValue(new CloudToDeviceOptions(options.c2d));
    bind(CloudToDeviceService).toSelf().inSingletonScope();
    // Before the heads: stopped after them, so deliveries in flight end with their connections.
    bind(HostedService).toService(CloudToDeviceService);
    if (options.deployment === true) {
      // Routes are in place before the protocol heads accept clients.
      bind(ApplyHubDeployment).toSelf().inSingletonScope();
      bind(HostedService).toService(ApplyHubDeployment);
    }
    if (options.mqtt.enabled) {
      bind(MqttHeadOptions).toConstantValue(
        new MqttHeadOptions({ host: options.mqtt.host, port: options.mqtt.port, plainPort: options.mqtt.plainPort, tls: options.mqtt.tls }),
      );
      bind(AedesMqttHead).toSelf().inSingletonScope();
      bind(HostedService).toService(AedesMqttHead);
    }
    if (options.amqp?.enabled === true) {
      const amqp = options.amqp;
      bind(AmqpHeadOptions).toConstantValue(
        new AmqpHeadOptions({ host: amqp.host, port: amqp.port, tls: amqp.tls, ...(amqp.creditWindow !== undefined ? { creditWindow: amqp.creditWindow } : {}) }),
      );
      bind(EdgeHubAmqpBackend).toSelf().inSingletonScope();
      bind(AmqpHubHead).toSelf().inSingletonScope();
      bind(HostedService).toService(AmqpHubHead);
    }
    if (options.https?.enabled === true) {
      const https = options.https;
      bind(HttpsListenerOptions).toConstantValue(new HttpsListenerOptions({ host: https.host, port: https.port, tls: https.tls }));
      bind(ModuleMethodsApi).toSelf().inSingletonScope();
      bind(HttpsListener)
        .toSelf()
        .inSingletonScope()
        .onActivation((context, listener) => {
          context.get(ModuleMethodsApi).register(listener);
          if (options.mqtt.enabled) {
            const head = context.get(AedesMqttHead);
            listener.addWebSocket(IOTHUB_WEBSOCKET_PATH, 'mqtt', (socket, request) => head.handleStream(webSocketStream(socket), request));
          }
          if (options.amqp?.enabled === true) {
            const amqpHead = context.get(AmqpHubHead);
            listener.addWebSocket(IOTHUB_WEBSOCKET_PATH, 'AMQPWSB10', (socket, request) => amqpHead.handleStream(webSocketStream(socket), request));
          }
          return listener;
        });
      // After the heads: WebSocket connections are handed to a started broker.
      bind(HostedService).toService(HttpsListener);
    }
  });
}
