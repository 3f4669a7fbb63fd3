import type { ParsedDeployment } from '../../domain/deployment/deployment-manifest.js';

/** The deployment as a source last saw it. */
export interface DeploymentSnapshot {
  /**
   * Increases with every change: the desired twin `$version`, or a counter for a file. Reported as
   * `lastDesiredVersion`.
   */
  version: number;
  /** The parsed manifest; an invalid one carries its status code (400/412/417). */
  deployment: ParsedDeployment;
}

/**
 * Where the desired deployment comes from: a local manifest file, or the `$edgeAgent` twin. The
 * source validates; the agent keeps the last good deployment when a new one is invalid.
 *
 * Both roles (the hub reads `$edgeHub`, the agent `$edgeAgent`) share one source, so start and
 * stop are counted here: `open` runs on the first start, `close` on the last stop. A source
 * publishes each new snapshot with `publish`.
 */
export abstract class DeploymentSource {
  private latest: DeploymentSnapshot | undefined;
  private readonly listeners = new Set<() => void>();
  private users = 0;
  private opening: Promise<void> | undefined;

  /** Starts watching; resolves after the first read. */
  async start(): Promise<void> {
    this.users += 1;
    this.opening ??= this.open();
    await this.opening;
  }

  async stop(): Promise<void> {
    if (this.users === 0) return;
    this.users -= 1;
    if (this.users > 0) return;
    const opening = this.opening;
    this.opening = undefined;
    await opening;
    await this.close();
  }

  /** The latest snapshot; `undefined` when nothing was read yet. */
  current(): DeploymentSnapshot | undefined {
    return this.latest;
  }

  /** Calls `listener` after each change of `current()`; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Begins watching and reads the first snapshot. */
  protected abstract open(): Promise<void>;
  /** Stops watching; waits for a read in progress. */
  protected abstract close(): Promise<void>;

  /** Makes `snapshot` current and, unless `notify` is false, tells the listeners. */
  protected publish(snapshot: DeploymentSnapshot, notify = true): void {
    this.latest = snapshot;
    if (notify) for (const listener of this.listeners) listener();
  }
}
