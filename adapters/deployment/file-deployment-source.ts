import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Clock, TimerHandle } from '../../application/ports/clock.js';
import { DeploymentSource } from '../../application/ports/deployment-source.js';
import type { Logger } from '../../application/ports/logger.js';
import { MAX_MANIFEST_BYTES, oversizedManifest, parseDeploymentManifestText, type ParsedDeployment } from '../../domain/deployment/deployment-manifest.js';
import { DeploymentStatusCode, EMPTY_CONFIGURATION_DESCRIPTION } from '../../domain/deployment/deployment-status.js';

export interface FileDeploymentSourceOptions {
  path: string;
  /** Polling period, the fallback when file-system events are missed (default 2 s). */
  pollIntervalMs?: number;
  /** Quiet time after a change event before reading, so a write in progress is not read (default 50 ms). */
  debounceMs?: number;
}

/**
 * The deployment from a local manifest file (standalone mode). Watches the directory (editors and
 * `mv` replace files, which a watch on the file itself would lose) and polls as a fallback. Every
 * change of content is a new version (1, 2, ...); an unreadable or invalid file is a snapshot
 * carrying its status code, and the agent keeps the last good deployment.
 */
export class FileDeploymentSource extends DeploymentSource {
  private readonly path: string;
  private readonly pollIntervalMs: number;
  private readonly debounceMs: number;
  private lastText: string | undefined;
  private version = 0;
  private watcher: FSWatcher | undefined;
  private pollTimer: TimerHandle | undefined;
  private debounceTimer: TimerHandle | undefined;
  private reading: Promise<void> | undefined;
  private rereadRequested = false;
  private running = false;

  private readonly configured: boolean;

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: FileDeploymentSourceOptions,
  ) {
    super();
    this.configured = options.path.trim() !== '';
    this.path = resolve(options.path);
    this.pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.debounceMs = options.debounceMs ?? 50;
  }

  protected async open(): Promise<void> {
    this.running = true;
    if (!this.configured) {
      // No manifest configured yet: report 417 and wait for a restart with one.
      this.version = 1;
      this.publish(
        {
          version: 1,
          deployment: { agent: { ok: false, status: { code: DeploymentStatusCode.ConfigEmptyError, description: `${EMPTY_CONFIGURATION_DESCRIPTION} (no manifest file configured: set agent.manifest)` } }, moduleTwins: {}, moduleTwinProblems: [] },
        },
        false,
      );
      this.logger.warn('no deployment manifest configured (agent.manifest); the agent runs no modules');
      return;
    }
    await this.read();
    try {
      const name = basename(this.path);
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file === null || file.toString() === name) this.changed();
      });
      this.watcher.on('error', (error) => {
        this.logger.warn(`watching ${this.path} failed, polling only: ${error.message}`);
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (error) {
      this.logger.warn(`cannot watch ${dirname(this.path)}, polling only: ${(error as Error).message}`);
    }
    this.schedulePoll();
  }

  protected async close(): Promise<void> {
    this.running = false;
    this.watcher?.close();
    this.watcher = undefined;
    this.pollTimer?.cancel();
    this.debounceTimer?.cancel();
    await this.reading;
  }

  /** Reads the file now (also used by tests and `edgeport` commands that want no delay). */
  read(): Promise<void> {
    if (this.reading !== undefined) {
      this.rereadRequested = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.rereadRequested = false;
        await this.readOnce();
      } while (this.rereadRequested);
    })().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private changed(): void {
    if (!this.running) return;
    this.debounceTimer?.cancel();
    this.debounceTimer = this.clock.schedule(this.debounceMs, () => void this.read());
  }

  private schedulePoll(): void {
    if (!this.running) return;
    this.pollTimer = this.clock.schedule(this.pollIntervalMs, () => {
      void this.read().finally(() => this.schedulePoll());
    });
  }

  private async readOnce(): Promise<void> {
    let text: string;
    let deployment: ParsedDeployment | undefined;
    try {
      // A runaway file is refused by its size, without reading it into memory.
      const info = await stat(this.path);
      if (info.size > MAX_MANIFEST_BYTES) {
        text = `\u0000too-large:${info.size}:${info.mtimeMs}`;
        deployment = oversizedManifest(info.size);
      } else {
        text = await readFile(this.path, 'utf8');
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      text = `\u0000${code ?? 'error'}`;
      deployment =
        code === 'ENOENT'
          ? { agent: { ok: false, status: { code: DeploymentStatusCode.ConfigEmptyError, description: `${EMPTY_CONFIGURATION_DESCRIPTION} (no manifest file at ${this.path})` } }, moduleTwins: {}, moduleTwinProblems: [] }
          : { agent: { ok: false, status: { code: DeploymentStatusCode.Failed, description: `cannot read the deployment manifest ${this.path}: ${(error as Error).message}` } }, moduleTwins: {}, moduleTwinProblems: [] };
    }
    if (text === this.lastText) return;
    this.lastText = text;
    deployment ??= parseDeploymentManifestText(text);
    this.version += 1;
    if (!deployment.agent.ok) this.logger.warn(`deployment manifest ${this.path} (version ${this.version}) is not usable: ${deployment.agent.status.description}`, { code: deployment.agent.status.code });
    else this.logger.info(`deployment manifest ${this.path} read (version ${this.version})`);
    this.publish({ version: this.version, deployment });
  }
}
