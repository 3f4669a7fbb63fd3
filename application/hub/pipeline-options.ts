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
  /** Messages handed to `EndpointDelivery.deliver` at once; also the checkpoint interval. */
  deliveryBatchSize = 100;
  /**
   * The same for the `$upstream` endpoint (undefined: `deliveryBatchSize`). Larger: a batch holds
   * runs of many senders, each run goes up as one transfer per sender (IoT Hub's batched format),
   * so a round trip carries more, and during a flood the pump (one batch per event-loop turn)
   * keeps up with ingest (bench:upstream R 0.96-1.00 with 250, 1.09-1.21 with 500, paired runs).
   */
  upstreamBatchSize: number | undefined = 500;
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
