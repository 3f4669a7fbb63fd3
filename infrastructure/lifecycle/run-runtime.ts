import { ListenError } from '../../application/ports/hosted-service.js';
import { ensureEdgeCertificates } from '../certs/edge-certificates.js';
import { buildContainer, hostedServices } from '../composition/container.js';
import { selectModuleRuntime } from '../composition/module-runtime-selection.js';
import type { EdgeportConfig } from '../config/load-config.js';
import { DataDirError, prepareDataDir } from '../data-dir.js';
import { createLogger, type PinoLogger } from '../logging/pino-logger.js';
import { runtimeLogFile } from '../runtime-sockets.js';
import { RuntimeHost, SHUTDOWN_DEADLINE_MS } from './runtime-host.js';

export interface RunOptions {
  only?: 'hub' | 'agent' | undefined;
  /** Resolves when the runtime should stop; default: the first SIGINT or SIGTERM. */
  stopSignal?: Promise<string>;
}

/**
 * Resolves on the first SIGINT or SIGTERM. The handlers stay installed until `dispose()`, so a
 * repeated signal during shutdown is ignored rather than killing the process mid-flush: `npm start`
 * forwards the terminal's Ctrl-C to a child that already received it from the process group.
 */
function stopSignals(onRepeat: (signal: string) => void): { first: Promise<string>; dispose(): void } {
  let resolveFirst: (signal: string) => void = () => {};
  let received = false;
  const first = new Promise<string>((resolve) => (resolveFirst = resolve));
  const onSignal = (signal: string): void => {
    if (received) {
      onRepeat(signal);
      return;
    }
    received = true;
    resolveFirst(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    first,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * `edgeport run`: starts the parts that exist, logs what listens where, and on SIGINT/SIGTERM
 * stops accepting work, flushes storage and returns 0 — or 1 after a failed start or a stop that
 * overran the 10 s deadline.
 */
export async function runRuntime(config: EdgeportConfig, options: RunOptions = {}): Promise<number> {
  // The runtime's log file lives in the data directory, so the directory is made usable (and its
  // modes narrowed) first; its warnings are logged once the logger exists.
  const warnings: Array<{ message: string; fields: Record<string, unknown> | undefined }> = [];
  let unusable: DataDirError | undefined;
  try {
    await prepareDataDir(config, (message, fields) => warnings.push({ message, fields }));
  } catch (error) {
    if (!(error instanceof DataDirError)) throw error;
    unusable = error;
  }
  const file = unusable === undefined && config.log.fileMaxBytes > 0 ? { file: { path: runtimeLogFile(config.dataDir), maxBytes: config.log.fileMaxBytes } } : {};
  const logger = createLogger({ level: config.log.level, format: config.log.format, name: 'edgeport', ...file });
  logger.info('edgeport starting', { configFile: config.source.file, envOverrides: config.source.env, dataDir: config.dataDir, only: options.only ?? 'all' });
  // The logger redacts keys, tokens, passwords and connection-string secrets from this dump.
  logger.debug('effective configuration', { config });
  for (const { message, fields } of warnings) logger.warn(message, fields);
  if (unusable !== undefined) {
    logger.error(`start failed: ${unusable.message}`, { setting: unusable.setting });
    return 1;
  }
  const signals = stopSignals((signal) => logger.info(`${signal} received again: already stopping`, { signal }));
  try {
    return await runUntilStopped(config, options, logger, options.stopSignal ?? signals.first);
  } finally {
    signals.dispose();
  }
}

async function runUntilStopped(config: EdgeportConfig, options: RunOptions, logger: PinoLogger, stopSignal: Promise<string>): Promise<number> {
  const certificates = await ensureEdgeCertificates({ dir: config.certs.dir, hostname: config.hostname, logger });
  logger.info(certificates.created ? 'edge CA and server certificate created' : 'edge CA and server certificate loaded', { caCertPath: certificates.caCertPath, serverCertPath: certificates.serverCertPath });

  let moduleRuntime;
  if (config.agent.enabled && options.only !== 'hub') {
    moduleRuntime = await selectModuleRuntime(config.agent);
    logger.info(`module runtime: ${moduleRuntime.kind} (${moduleRuntime.reason})`, { moduleRuntime: moduleRuntime.kind });
  }

  logger.info(
    config.storage.kind === 'sqlite' ? `storage: SQLite at ${config.storage.path} (sync ${config.storage.sync})` : 'storage: PostgreSQL (storage.url)',
    { storage: config.storage.kind },
  );
  const container = await buildContainer(config, logger, {
    only: options.only,
    moduleRuntime,
    serverCertificate: { cert: certificates.serverCertPem, key: certificates.serverKeyPem },
  });
  const host = new RuntimeHost(hostedServices(container), logger);
  try {
    await host.start();
  } catch (error) {
    if (!(error instanceof ListenError)) logger.error('start failed', { error });
    return 1;
  }
  logger.info('edgeport running; stop with SIGINT or SIGTERM');

  const signal = await stopSignal;
  logger.info(`${signal} received: stopping`, { signal });
  let overran = false;
  const deadline = new Promise<void>((resolve) => {
    setTimeout(() => {
      overran = true;
      resolve();
    }, SHUTDOWN_DEADLINE_MS).unref();
  });
  await Promise.race([host.stop(), deadline]);
  if (overran) {
    logger.error(`shutdown did not finish within ${SHUTDOWN_DEADLINE_MS / 1000} s; exiting anyway`);
    return 1;
  }
  await container.unbindAllAsync();
  logger.info('edgeport stopped');
  return 0;
}
