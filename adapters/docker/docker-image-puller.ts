import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { Clock } from '../../application/ports/clock.js';
import type { Logger } from '../../application/ports/logger.js';
import { ModulePreparationError, type DownloadProgress } from '../../domain/modules/module-preparation.js';
import type { ModuleSpec, RegistryCredential } from '../../domain/modules/module-spec.js';
import { messageOf, statusOf } from './docker-errors.js';
import { PullProgress, type PullMessage } from './docker-pull-progress.js';

export interface ImagePullOptions {
  /** A pull still streaming after this long is abandoned (default 10 min). */
  pullTimeoutMs?: number;
  /** Minimum time between two pull progress log lines of one image (default 2 s). */
  pullProgressIntervalMs?: number;
  /** Minimum time between two download progress reports of one image (default 0.5 s). */
  downloadProgressIntervalMs?: number;
}

/** What a pull learnt: the manifest digest Docker pulled (absent when the local image was used). */
export interface PullOutcome {
  digest?: string;
}

/** Called with the bytes pulled so far while layers download (throttled). */
export type DownloadListener = (progress: DownloadProgress) => void;

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
  async ensureImage(module: string, image: string, policy: ModuleSpec['imagePullPolicy'], credential: RegistryCredential | undefined, onDownload?: DownloadListener): Promise<PullOutcome> {
    if (policy === 'never') {
      if (!(await this.imagePresent(image))) {
        throw new ModulePreparationError(module, 'pull', 'image not on this machine', `image ${image} is not on this machine and imagePullPolicy is "never": load it (docker pull / docker load) or set imagePullPolicy to "on-create"`);
      }
      return {};
    }
    try {
      return await this.pull(module, image, credential, onDownload);
    } catch (error) {
      const reason = messageOf(error);
      // Offline edge devices must still be able to re-create a module from the image they have.
      if (await this.imagePresent(image)) {
        this.logger.warn(`pulling ${image} failed (${reason}); using the image already on this machine`, { module, image });
        return {};
      }
      const how = credential === undefined ? ' (no registry credential matches its registry)' : ` with the credential of ${credential.address}`;
      throw new ModulePreparationError(module, 'pull', 'image pull failed', `cannot pull image ${image}${how}: ${reason}`, { cause: error });
    }
  }

  private async pull(module: string, image: string, credential: RegistryCredential | undefined, onDownload: DownloadListener | undefined): Promise<PullOutcome> {
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
      const progress = await this.followPull(module, image, stream, abort.signal, timedOut, onDownload);
      this.logger.info(`pulled ${image}${progress.digest === undefined ? '' : ` (${progress.digest})`}`, { module, image });
      return progress.digest === undefined ? {} : { digest: progress.digest };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Reads the pull's progress stream: throttled progress logs and download reports; an
   * `errorDetail` fails the pull.
   */
  private async followPull(module: string, image: string, stream: Readable, signal: AbortSignal, timedOut: () => Error, onDownload: DownloadListener | undefined): Promise<PullProgress> {
    const interval = this.options.pullProgressIntervalMs ?? 2000;
    const reportInterval = this.options.downloadProgressIntervalMs ?? 500;
    let lastLog = Number.NEGATIVE_INFINITY;
    let lastReport = Number.NEGATIVE_INFINITY;
    const progress = new PullProgress();
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
        let event: PullMessage;
        try {
          event = JSON.parse(text) as PullMessage;
        } catch {
          return;
        }
        if (event.error !== undefined || event.errorDetail !== undefined) {
          failure = event.errorDetail?.message ?? event.error ?? 'pull failed';
          return;
        }
        const now = this.clock.now();
        if (progress.update(event) && onDownload !== undefined && progress.downloading && now - lastReport >= reportInterval) {
          lastReport = now;
          onDownload(progress.snapshot());
        }
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
    return progress;
  }
}
