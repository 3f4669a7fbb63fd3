import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { Clock } from '../../application/ports/clock.js';
import type { Logger } from '../../application/ports/logger.js';
import type { ModuleSpec, RegistryCredential } from '../../domain/modules/module-spec.js';
import { messageOf, statusOf } from './docker-errors.js';

export interface ImagePullOptions {
  /** A pull still streaming after this long is abandoned (default 10 min). */
  pullTimeoutMs?: number;
  /** Minimum time between two pull progress log lines of one image (default 2 s). */
  pullProgressIntervalMs?: number;
}

/**
 * Gets a module's image onto the machine as its `imagePullPolicy` says: `on-create` pulls (with
 * the registry credential), `never` requires the image to be there. A failed pull falls back to
 * the image already on the machine, so an offline device can still re-create its modules.
 */
export class DockerImagePuller {
  constructor(
    private readonly docker: Docker,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: ImagePullOptions = {},
  ) {}

  async imagePresent(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  /** `on-create`: pull (with the registry credential); `never`: the image must be on this machine. */
  async ensureImage(module: string, image: string, policy: ModuleSpec['imagePullPolicy'], credential: RegistryCredential | undefined): Promise<void> {
    if (policy === 'never') {
      if (!(await this.imagePresent(image))) {
        throw new Error(`image ${image} is not on this machine and imagePullPolicy is "never": load it (docker pull / docker load) or set imagePullPolicy to "on-create"`);
      }
      return;
    }
    try {
      await this.pull(module, image, credential);
    } catch (error) {
      const reason = messageOf(error);
      // Offline edge devices must still be able to re-create a module from the image they have.
      if (await this.imagePresent(image)) {
        this.logger.warn(`pulling ${image} failed (${reason}); using the image already on this machine`, { module, image });
        return;
      }
      throw new Error(`cannot pull image ${image}${credential === undefined ? ' (no registry credential matches its registry)' : ` with the credential of ${credential.address}`}: ${reason}`, { cause: error });
    }
  }

  private async pull(module: string, image: string, credential: RegistryCredential | undefined): Promise<void> {
    const timeoutMs = this.options.pullTimeoutMs ?? 600_000;
    const abort = new AbortController();
    // Real timers: this waits on the registry, whatever clock the agent logic uses. The signal
    // covers the request too: the engine may answer only once the registry does.
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    timer.unref();
    const timedOut = (): Error => new Error(`the pull did not finish within ${Math.round(timeoutMs / 1000)} s`);
    const options: Record<string, unknown> = { abortSignal: abort.signal };
    if (credential !== undefined) {
      options['authconfig'] = { username: credential.username, password: credential.password, serveraddress: credential.address };
    }
    this.logger.info(`pulling ${image}`, { module, image });
    try {
      let stream: Readable;
      try {
        stream = (await this.docker.pull(image, options)) as Readable;
      } catch (error) {
        throw abort.signal.aborted ? timedOut() : error;
      }
      await this.followPull(module, image, stream, abort.signal, timedOut);
    } finally {
      clearTimeout(timer);
    }
    this.logger.info(`pulled ${image}`, { module, image });
  }

  /** Reads the pull's progress stream: throttled progress logs; an `errorDetail` fails the pull. */
  private async followPull(module: string, image: string, stream: Readable, signal: AbortSignal, timedOut: () => Error): Promise<void> {
    const interval = this.options.pullProgressIntervalMs ?? 2000;
    let lastLog = Number.NEGATIVE_INFINITY;
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        stream.destroy();
        reject(timedOut());
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      let buffer = '';
      let failure: string | undefined;
      const line = (text: string): void => {
        if (text.trim() === '') return;
        let event: { status?: string; progress?: string; id?: string; error?: string; errorDetail?: { message?: string } };
        try {
          event = JSON.parse(text) as typeof event;
        } catch {
          return;
        }
        if (event.error !== undefined || event.errorDetail !== undefined) {
          failure = event.errorDetail?.message ?? event.error ?? 'pull failed';
          return;
        }
        const now = this.clock.now();
        if (now - lastLog >= interval) {
          lastLog = now;
          this.logger.info(`pulling ${image}: ${[event.id, event.status, event.progress].filter(Boolean).join(' ')}`, { module, image });
        }
      };
      stream.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          line(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
        }
      });
      stream.once('error', (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? timedOut() : error);
      });
      stream.once('end', () => {
        signal.removeEventListener('abort', onAbort);
        line(buffer);
        if (failure !== undefined) reject(new Error(failure));
        else resolve();
      });
    });
  }
}
