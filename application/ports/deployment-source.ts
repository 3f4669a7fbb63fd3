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
 */
export abstract class DeploymentSource {
  /** Starts watching; resolves after the first read. */
  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;
  /** The latest snapshot; `undefined` when nothing was read yet. */
  abstract current(): DeploymentSnapshot | undefined;
  /** Calls `listener` after each change of `current()`; returns the unsubscribe function. */
  abstract onChange(listener: () => void): () => void;
}
