import type { DownloadProgress } from '../../domain/modules/module-preparation.js';

/** One line of Docker's pull progress stream (`POST /images/create`). */
export interface PullMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

interface Layer {
  done: number;
  total: number;
  /** On the machine: pulled and extracted, or there already. */
  complete: boolean;
}

/** Layer statuses after which its bytes are all downloaded. */
const DOWNLOADED = new Set(['Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete']);
/** Every status Docker gives a layer (other messages, such as `Pulling from <repo>`, are not layers). */
const LAYER_STATUSES = new Set(['Pulling fs layer', 'Waiting', 'Downloading', 'Retrying', 'Already exists', ...DOWNLOADED]);

/**
 * Adds up a pull's progress messages into bytes done / total over its layers, as `docker pull`
 * draws its bars: a layer's size is known once its download starts; `Already exists` layers count
 * as done without bytes. Also keeps the manifest digest Docker reports at the end (`Digest: ...`).
 */
export class PullProgress {
  private readonly layers = new Map<string, Layer>();
  /** `sha256:<hex>` of the manifest pulled, once Docker said it. */
  digest: string | undefined;

  /** Reads one message; true when it changed what `snapshot` returns. */
  update(message: PullMessage): boolean {
    const status = message.status ?? '';
    if (status.startsWith('Digest: ')) {
      this.digest = status.slice('Digest: '.length).trim();
      return false;
    }
    const id = message.id;
    if (id === undefined || !LAYER_STATUSES.has(status.startsWith('Retrying') ? 'Retrying' : status)) return false;
    const layer = this.layers.get(id) ?? { done: 0, total: 0, complete: false };
    const before = `${layer.done}/${layer.total}/${layer.complete}`;
    const detail = message.progressDetail;
    if (status === 'Downloading' && detail !== undefined) {
      if (typeof detail.total === 'number' && detail.total > 0) layer.total = detail.total;
      if (typeof detail.current === 'number') layer.done = Math.min(detail.current, layer.total > 0 ? layer.total : detail.current);
    } else if (DOWNLOADED.has(status)) {
      layer.done = layer.total;
    }
    if (status === 'Pull complete' || status === 'Already exists') layer.complete = true;
    const changed = !this.layers.has(id) || before !== `${layer.done}/${layer.total}/${layer.complete}`;
    this.layers.set(id, layer);
    return changed;
  }

  /** Whether any layer has to be downloaded (an image already up to date has none). */
  get downloading(): boolean {
    return [...this.layers.values()].some((l) => !l.complete || l.total > 0);
  }

  snapshot(): DownloadProgress {
    let doneBytes = 0;
    let totalBytes = 0;
    let layersDone = 0;
    for (const layer of this.layers.values()) {
      doneBytes += layer.done;
      totalBytes += layer.total;
      if (layer.complete) layersDone++;
    }
    return { doneBytes, totalBytes, layers: this.layers.size, layersDone };
  }
}
