import { formatBytes, type DownloadProgress } from './module-preparation.js';
import type { ModuleSpec } from './module-spec.js';
import type { ModuleRuntimeStatus } from './module-status.js';

/** What `edgeport list` knows about a module to describe it. Times are epoch ms. */
export interface ModuleStatusView {
  /** The status after the restart policy (`backoff` included), as reported. */
  status: ModuleRuntimeStatus;
  exitCode: number;
  startedAt?: number;
  exitedAt?: number;
  /** When a module in `backoff` is due to be restarted. */
  restartAt?: number;
  /** A `downloading` module's pull so far. */
  download?: DownloadProgress;
  /** A module that could not be prepared or created: why, in a few words (`image pull failed`). */
  failure?: string;
  /** ... and when the agent tries again. */
  retryAt?: number;
}

const UNITS: ReadonlyArray<readonly [number, string, string]> = [
  [365 * 86_400_000, 'a year', 'years'],
  [30 * 86_400_000, 'a month', 'months'],
  [7 * 86_400_000, 'a week', 'weeks'],
  [86_400_000, 'a day', 'days'],
  [3_600_000, 'an hour', 'hours'],
  [60_000, 'a minute', 'minutes'],
];

/**
 * A rough duration in words, as `iotedge list` prints them (chrono-humanize, rough accuracy):
 * `less than a second`, `1 second`, `10 seconds`, `a minute`, `3 minutes`, `an hour`, `5 hours`,
 * `a day`, `2 weeks`... The largest unit that fits, rounded down.
 */
export function humanDuration(ms: number): string {
  const value = Math.max(0, ms);
  for (const [unit, one, many] of UNITS) {
    if (value >= unit) {
      const count = Math.floor(value / unit);
      return count === 1 ? one : `${count} ${many}`;
    }
  }
  const seconds = Math.floor(value / 1000);
  if (seconds < 1) return 'less than a second';
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}

/** `, retry in 20 s` / `, retry due` / `` (no retry planned). */
function retryText(retryAt: number | undefined, now: number): string {
  if (retryAt === undefined || !Number.isFinite(retryAt)) return '';
  const seconds = Math.ceil((retryAt - now) / 1000);
  return seconds <= 0 ? ', retry due' : `, retry in ${seconds} s`;
}

/**
 * The DESCRIPTION column of `edgeport list`, in `iotedge list`'s words: `Up 3 minutes`,
 * `Stopped`, `Stopped 2 minutes ago`, `Failed (139) 10 seconds ago`, `Backoff, restart in 40 s`,
 * `Up 5 minutes (unhealthy)`, `Dead`, `Unknown`; and the preview's `Downloading 12.3 MB / 40.1 MB
 * (30%)`, or `Failed: image pull failed, retry in 20 s` for a module that could not be created.
 * Pure: `now` is passed in.
 */
export function describeModuleStatus(view: ModuleStatusView, now: number): string {
  if (view.status === 'failed' && view.failure !== undefined) return `Failed: ${view.failure}${retryText(view.retryAt, now)}`;
  switch (view.status) {
    case 'downloading': {
      const download = view.download;
      if (download === undefined || download.totalBytes <= 0) return 'Downloading';
      const percent = Math.floor((100 * Math.min(download.doneBytes, download.totalBytes)) / download.totalBytes);
      return `Downloading ${formatBytes(download.doneBytes)} / ${formatBytes(download.totalBytes)} (${percent}%)`;
    }
    case 'running':
      return view.startedAt === undefined ? 'Up' : `Up ${humanDuration(now - view.startedAt)}`;
    case 'unhealthy':
      return view.startedAt === undefined ? 'Up (unhealthy)' : `Up ${humanDuration(now - view.startedAt)} (unhealthy)`;
    case 'stopped':
      return view.exitedAt === undefined ? 'Stopped' : `Stopped ${humanDuration(now - view.exitedAt)} ago`;
    case 'failed':
      return view.exitedAt === undefined ? `Failed (${view.exitCode})` : `Failed (${view.exitCode}) ${humanDuration(now - view.exitedAt)} ago`;
    case 'backoff': {
      if (view.restartAt === undefined || !Number.isFinite(view.restartAt)) return 'Backoff';
      const seconds = Math.ceil((view.restartAt - now) / 1000);
      return seconds <= 0 ? 'Backoff, restart due' : `Backoff, restart in ${seconds} s`;
    }
    case 'dead':
      return 'Dead';
    case 'unknown':
      return 'Unknown';
  }
}

/** The CONFIG column of `edgeport list`: the image (docker), or the command line (process), quoted where needed. */
export function describeModuleConfig(spec: ModuleSpec): string {
  const settings = spec.settings;
  if (settings.kind === 'process') return [settings.command, ...settings.args].map((a) => (/[\s"']/.test(a) || a === '' ? JSON.stringify(a) : a)).join(' ');
  return settings.image;
}
