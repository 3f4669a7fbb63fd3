/**
 * Getting a module ready before it can be created: pulling (and verifying) a Docker image,
 * checking a process module's program. While that runs the module is `downloading`; when it fails
 * the module is `failed` with the reason, and the plan runner retries it after a back-off.
 */

/** Bytes of an image pull. A layer's size is known once its download starts, so the total grows. */
export interface DownloadProgress {
  doneBytes: number;
  totalBytes: number;
  /** Layers of the image seen so far, and how many of them are on the machine. */
  layers: number;
  layersDone: number;
}

/** What the agent shows for a module it has not been able to create yet (or is updating). */
export interface ModulePreparation {
  phase: 'downloading' | 'failed';
  /** The image being pulled, or the program being checked. */
  what?: string;
  download?: DownloadProgress;
  /** The whole error of a failed preparation or create. */
  error?: string;
  /** A few words for `edgeport list`: `image pull failed`, `image refused (no signature)`. */
  summary?: string;
  /** When the plan runner tries again (epoch ms); absent: not before the deployment changes. */
  retryAt?: number;
}

/** Why preparing a module failed, for the short description and metrics. */
export type PreparationFailureKind = 'pull' | 'refused' | 'checksum';

/** A module runtime could not get a module ready: its message says why and what to do. */
export class ModulePreparationError extends Error {
  readonly code = 'EDGEPORT_MODULE_PREPARATION';
  constructor(
    readonly module: string,
    readonly kind: PreparationFailureKind,
    /** A few words: `image pull failed`, `image refused (bad signature)`, `program checksum mismatch`. */
    readonly summary: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ModulePreparationError';
  }
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'] as const;

/** Bytes in Docker's decimal units: `512 B`, `1.5 kB`, `12.3 MB`. */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** `12.3 MB of 40.1 MB, 2 of 5 layers` (`of ?` while no size is known yet). */
export function describeDownload(progress: DownloadProgress): string {
  const total = progress.totalBytes > 0 ? formatBytes(progress.totalBytes) : '?';
  return `${formatBytes(progress.doneBytes)} of ${total}, ${progress.layersDone} of ${progress.layers} layer${progress.layers === 1 ? '' : 's'}`;
}

/** The reported `statusDescription` of a module being prepared. */
export function describePreparation(preparation: ModulePreparation): string {
  if (preparation.phase === 'downloading') {
    const what = preparation.what === undefined ? 'downloading' : `downloading ${preparation.what}`;
    return preparation.download === undefined ? what : `${what}: ${describeDownload(preparation.download)}`;
  }
  return preparation.error ?? preparation.summary ?? 'failed';
}
