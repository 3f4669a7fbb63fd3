import { readFileSync } from 'node:fs';
import { Container } from 'inversify';
import { HostedService } from '../../application/ports/hosted-service.js';
import type { Logger } from '../../application/ports/logger.js';
import type { EdgeportConfig } from '../config/load-config.js';
import { join } from 'node:path';
import { packageVersion } from '../package-info.js';
import { agentHubModule } from './agent-hub-module.js';
import { agentModule, type AgentModuleOptions } from './agent-module.js';
import { coreModule } from './core-module.js';
import { deploymentModule } from './deployment-module.js';
import { type HubModuleOptions, hubModule } from './hub-module.js';
import { managementApiModule, managementModule } from './management-module.js';
import { observeModule } from './observe-module.js';
import { runtimeSockets } from '../runtime-sockets.js';
import { EDGE_CERT_FILES } from '../certs/edge-certificates.js';
import type { ModuleRuntimeChoice } from './module-runtime-selection.js';
import { storageModule, type StorageOptions } from './storage-module.js';
import { readTrustSettings } from './trust-settings.js';
import { readCaFile, readUpstreamX509 } from './upstream-ca-file.js';
import type { UpstreamModuleOptions } from './upstream-module.js';
import { readRegistryCredentialsFile } from '../config/registry-credentials-file.js';
import { secretsModule } from './secrets-module.js';

/** `upstream.*` as the upstream module takes it (after the hub module, which it completes). */
export function upstreamOptions(config: EdgeportConfig): UpstreamModuleOptions {
  if (config.upstream.kind === 'amqp091') return { kind: 'amqp091', url: config.upstream.url, exchange: config.upstream.exchange };
  // Nested edge: the same IoT Hub upstream, pointed at the parent edge device's AMQP head and
  // trusting the parent's edge CA (the trust bundle).
  const parent = config.upstream.kind === 'parent';
  const ca = parent ? readCaFile(config.upstream.trustBundleFile, 'upstream.trustBundleFile') : readCaFile(config.upstream.caFile);
  const host = parent ? config.upstream.parentHostname : config.upstream.host;
  const x509 = readUpstreamX509(config.upstream.x509CertFile, config.upstream.x509KeyFile);
  return {
    kind: 'iothub',
    connectionString: config.upstream.connectionString,
    host,
    amqpPort: config.upstream.amqpPort,
    httpsPort: config.upstream.httpsPort,
    tokenTtlSeconds: config.upstream.tokenTtlSecs,
    maxReconnectDelayMs: config.upstream.maxReconnectDelaySecs * 1000,
    ...(ca !== undefined ? { ca } : {}),
    ...(x509 !== undefined ? { x509 } : {}),
    // Connected mode: the deployment comes from the $edgeAgent/$edgeHub twins, not agent.manifest.
    twinDeployment: true,
  };
}

/** `hub.x509.*` as the hub module takes them: the trusted CA files read now, with a clear error naming the setting. */
export function hubX509(config: EdgeportConfig): NonNullable<HubModuleOptions['x509']> {
  const trustedCaPems = config.hub.x509.trustedCaFiles.map((file) => {
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`cannot read hub.x509.trustedCaFiles entry ${file}: ${(error as Error).message}`, { cause: error });
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`hub.x509.trustedCaFiles entry ${file} holds no PEM certificate`);
    return pem;
  });
  return { trustedCaPems, revocationCheckMs: config.hub.x509.revocationCheckSecs * 1000 };
}

/** `hub.limits.*` as the hub module takes them (seconds to milliseconds). */
export function hubLimits(config: EdgeportConfig): NonNullable<HubModuleOptions['limits']> {
  const limits = config.hub.limits;
  return {
    maxConnections: limits.maxConnections,
    maxConnectionsPerSource: limits.maxConnectionsPerSource,
    maxPendingConnections: limits.maxPendingConnections,
    maxPendingPerSource: limits.maxPendingPerSource,
    handshakeTimeoutMs: limits.handshakeTimeoutSecs * 1000,
    loginFailuresBeforeBackoff: limits.loginFailuresBeforeBackoff,
    loginBackoffMaxMs: limits.loginBackoffMaxSecs * 1000,
    logSummaryIntervalMs: limits.logSummaryIntervalSecs * 1000,
  };
}

export function storageOptions(config: EdgeportConfig): StorageOptions {
  return config.storage.kind === 'postgres'
    ? { kind: 'postgres', url: config.storage.url }
    : { kind: 'sqlite', path: config.storage.path, sync: config.storage.sync };
}

/**
 * The composition root: the only place that chooses concrete adapters, by configuration.
 * One ContainerModule per adapter family. Hosted services start in binding order (core, storage,
 * then the parts that use storage) and stop in reverse, so storage is flushed and closed last.
 */
export interface Roles {
  /** `--only hub|agent`; undefined runs both. */
  only?: 'hub' | 'agent' | undefined;
  /** The module runtime chosen for the agent (see `selectModuleRuntime`). */
  moduleRuntime?: ModuleRuntimeChoice | undefined;
  /** The edge server certificate for the TLS listeners (from `ensureEdgeCertificates`). */
  serverCertificate?: { cert: string; key: string } | undefined;
}

export async function buildContainer(config: EdgeportConfig, logger: Logger, roles: Roles = {}): Promise<Container> {
  const container = new Container({ defaultScope: 'Singleton' });
  const hub = config.hub.enabled && roles.only !== 'agent';
  const agent = config.agent.enabled && roles.only !== 'hub';
  const storage = storageOptions(config);
  // TypeORM is loaded only for PostgreSQL: SQLite runs on better-sqlite3 directly.
  const storageBindings = storage.kind === 'postgres' ? (await import('./postgres-storage-module.js')).postgresStorageModule(storage) : storageModule(storage);
  container.load(coreModule(config, logger, { processModuleName: agent ? 'edgeAgent' : 'edgeHub' }), storageBindings, secretsModule({ keyFile: config.secrets.keyFile }), deploymentModule({ manifestPath: config.agent.manifest }));
  if (hub) {
    container.load(
      hubModule({
        edgeDeviceId: config.deviceId,
        iotHubHostname: config.iotHubHostname,
        edgeHostname: config.hostname,
        deployment: true,
        mqtt: {
          enabled: config.hub.mqtt.enabled,
          host: config.hub.mqtt.host,
          port: config.hub.mqtt.port,
          plainPort: config.hub.mqtt.plainPort,
          tls: roles.serverCertificate,
        },
        amqp: { enabled: config.hub.amqp.enabled, host: config.hub.amqp.host, port: config.hub.amqp.port, ...(roles.serverCertificate !== undefined ? { tls: roles.serverCertificate } : {}) },
        https: { enabled: config.hub.https.enabled, host: config.hub.https.host, port: config.hub.https.port, ...(roles.serverCertificate !== undefined ? { tls: roles.serverCertificate } : {}) },
        pipeline: { timeToLiveSecs: config.hub.storeAndForward.timeToLiveSecs, maxStoreBytes: config.hub.storeAndForward.maxBytes, upstreamConfigured: config.upstream.kind !== 'none' },
        limits: hubLimits(config),
        x509: hubX509(config),
      }),
    );
  }
  // Loaded only when configured (memory: the upstream adapters pull in rhea's client side, undici, amqplib).
  if (hub && config.upstream.kind !== 'none') {
    const { upstreamModule } = await import('./upstream-module.js');
    container.load(upstreamModule(upstreamOptions(config)));
  }
  // Without the agent the management API (hub routes: C2D, methods) is bound on its own.
  if (hub && !agent) container.load(managementApiModule({ dataDir: config.dataDir }));
  if (agent) {
    const runtime = roles.moduleRuntime?.kind ?? 'process';
    const trust = readTrustSettings(config.agent.trust);
    // Modules share the host's network: Edgeport's hub listens on the host, and this runtime
    // creates no bridge network of its own.
    let dockerRuntime: AgentModuleOptions['dockerRuntime'];
    if (runtime !== 'process') {
      // dockerode (with gRPC and protobuf for BuildKit) costs about 25 MB: only with a Docker runtime.
      const { dockerRuntimeModule, DockerModuleRuntime } = await import('./docker-runtime-module.js');
      dockerRuntime = DockerModuleRuntime;
      const instance = config.agent.dockerInstance;
      container.load(
        dockerRuntimeModule({
          socketPath: config.agent.dockerSocket,
          defaultNetworkMode: 'host',
          workloadSocket: runtimeSockets(config.dataDir).workload,
          registryCredentials: readRegistryCredentialsFile(config.agent.registryCredentialsFile),
          bindModuleRuntime: runtime === 'docker',
          trust: trust.image,
          ...(instance === '' ? {} : { labels: { 'edgeport.instance': instance }, namePrefix: `${instance}-` }),
        }),
      );
    }
    // Before the agent: the workload socket must exist when the first module starts.
    container.load(managementModule({ dataDir: config.dataDir, deviceId: config.deviceId, caCertPath: join(config.certs.dir, EDGE_CERT_FILES.caCert) }));
    const version = packageVersion();
    // The SDK connects to IOTEDGE_GATEWAYHOSTNAME on 8883 unless a port is given.
    const gatewayHostname = config.hub.mqtt.port === 8883 ? config.hostname : `${config.hostname}:${config.hub.mqtt.port}`;
    container.load(
      agentModule({
        runtime,
        ...(dockerRuntime === undefined ? {} : { dockerRuntime }),
        logsDir: join(config.dataDir, 'modules'),
        ...(trust.manifestRootPem === undefined ? {} : { manifestTrustRootPem: trust.manifestRootPem }),
        settings: {
          environment: { iothubHostname: config.iotHubHostname, deviceId: config.deviceId, gatewayHostname, apiVersion: '2022-08-03' },
          agentVersion: { version, build: '', commit: '' },
          embeddedHub: hub,
        },
      }),
    );
    // The agent's twin and direct methods live in the hub when both run here.
    if (hub) container.load(agentHubModule());
  }
  container.load(
    observeModule({
      deviceId: config.deviceId,
      version: packageVersion(),
      roles: { hub, agent },
      upstream: config.upstream.kind !== 'none',
      dataDir: config.dataDir,
      dashboard: config.dashboard,
    }),
  );
  return container;
}

/** The long-running parts in start order (binding order); stopped in reverse. */
export function hostedServices(container: Container): HostedService[] {
  return container.isBound(HostedService) ? container.getAll(HostedService) : [];
}
