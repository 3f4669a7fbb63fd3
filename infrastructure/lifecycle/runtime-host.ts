import { ListenError, type HostedService, type ListenInfo } from '../../application/ports/hosted-service.js';
import type { Logger } from '../../application/ports/logger.js';
import { envSegment } from '../config/env-overrides.js';

/** Default time `edgeport run` allows for a graceful stop before it gives up. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

/** The user-facing text for a listener that could not bind: which port, why, which setting. */
export function explainListenError(error: ListenError): string {
  const variable = `EDGEPORT_${error.listen.setting.split('.').map(envSegment).join('_')}`;
  return `${error.message}; change ${error.listen.setting} in the configuration file or set ${variable}`;
}

/**
 * Starts hosted parts in order and stops them in reverse. A part that fails to start stops the
 * parts already started, so a failed start leaves nothing listening.
 */
export class RuntimeHost {
  private started: HostedService[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly services: readonly HostedService[],
    private readonly logger: Logger,
  ) {}

  async start(): Promise<ListenInfo[]> {
    const listening: ListenInfo[] = [];
    for (const service of this.services) {
      try {
        const listens = await service.start();
        this.started.push(service);
        for (const listen of listens) {
          listening.push(listen);
          this.logger.info(`${service.name} listening on ${listen.protocol}://${listen.host}:${listen.port}`, { part: service.name, ...listen });
        }
        if (listens.length === 0) this.logger.info(`${service.name} started`, { part: service.name });
      } catch (error) {
        const message = error instanceof ListenError ? explainListenError(error) : (error as Error).message;
        this.logger.error(`${service.name} failed to start: ${message}`, { part: service.name });
        await this.stop();
        throw error instanceof ListenError ? Object.assign(error, { message }) : error;
      }
    }
    return listening;
  }

  /** Stops started parts in reverse order; idempotent. Errors are logged, never thrown. */
  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const service of [...this.started].reverse()) {
        try {
          await service.stop();
          this.logger.info(`${service.name} stopped`, { part: service.name });
        } catch (error) {
          this.logger.error(`${service.name} failed to stop cleanly: ${(error as Error).message}`, { part: service.name });
        }
      }
      this.started = [];
    })();
    await this.stopping;
  }
}
