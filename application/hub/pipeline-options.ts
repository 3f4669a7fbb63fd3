import { DEFAULT_TIME_TO_LIVE_SECS } from '../../domain/messages/store-and-forward.js';

/** Tunables of the message pipeline; the composition root binds one instance built from configuration. */
export class PipelineOptions {
  /** `storeAndForwardConfiguration.timeToLiveSecs`; <= 0 means messages never expire. */
  timeToLiveSecs = DEFAULT_TIME_TO_LIVE_SECS;
  /** Refuse new messages once stored messages would exceed this many bytes (0 or Infinity: no limit). */
  maxStoreBytes = Number.POSITIVE_INFINITY;
  /** Most messages committed in one group-commit transaction. */
  maxWriteBatch = 1000;
  /** Queue entries read from disk at a time by a pump (bounds memory during a backlog). */
  readPageSize = 500;
  /**
   * Messages handed to `EndpointDelivery.deliver` at once; also the checkpoint interval. 250 (was
   * 100): with two batches in flight, the PUBACK round trip of a busy module no longer caps delivery
   * below ingest (`edgeport run`, 1 KB messages A -> B: 13.1 - 13.4k msg/s against 6.6k with 100,
   * paired runs on an idle machine, docs/performance.md).
   */
  deliveryBatchSize = 250;
  /**
   * The same for the `$upstream` endpoint (undefined: `deliveryBatchSize`). A batch holds runs of
   * many senders, each run goes up as one transfer per sender (IoT Hub's batched format, at most
   * 256 KB), so a round trip carries more. At least `readPageSize + maxWriteBatch` (the most the
   * pump holds in memory besides its batches in flight): then a batch that settles frees room for
   * everything that arrived meanwhile. With 500, a flood of more than two batches per round trip
   * (1 KB messages from 20 devices: bench:upstream) filled the page, and from then on every entry
   * was read back from the store (about a tenth of the hub's main thread) until the flood ended.
   * Batches are only this large while a flood arrives live: a backlog is read `readPageSize` at a time.
   */
  upstreamBatchSize: number | undefined = 2000;
  /**
   * Most message-body bytes in one delivery batch (at least one message goes, however large): a
   * batch must fit the send timeout on a slow link, whatever its count (2000 x 256 KB would be 500 MB).
   */
  deliveryBatchBytes = 4 * 1024 * 1024;
  /** A delivery that takes longer fails transiently (Azure: 30 s). */
  sendTimeoutMs = 30_000;
  /** How often expired entries are removed and disk space given back. */
  cleanupIntervalMs = 30_000;
  /**
   * Whether `$upstream` leads anywhere (config `upstream.kind` other than "none"). `false` makes each
   * route into `$upstream` warn when a deployment is applied (its messages would only wait for their
   * TTL); `undefined` (unknown, e.g. in tests) skips that check.
   */
  upstreamConfigured: boolean | undefined = undefined;

  constructor(overrides: Partial<PipelineOptions> = {}) {
    Object.assign(this, overrides);
  }
}
