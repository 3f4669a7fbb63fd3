/** Global TTL used when the configuration does not set `storeAndForwardConfiguration.timeToLiveSecs`. */
export const DEFAULT_TIME_TO_LIVE_SECS = 7200;

/** Expiry used for messages that never expire (a global TTL <= 0 means "infinite"). */
export const NEVER_EXPIRES = Number.MAX_SAFE_INTEGER;

/**
 * When a stored message expires: the route's `timeToLiveSecs` if it is positive, else the global one;
 * a non-positive global TTL means the message never expires.
 */
export function expiresAt(enqueuedAtMs: number, routeTtlSecs: number, globalTtlSecs: number): number {
  const ttl = routeTtlSecs > 0 ? routeTtlSecs : globalTtlSecs;
  if (!(ttl > 0) || !Number.isFinite(ttl)) return NEVER_EXPIRES;
  return Math.min(NEVER_EXPIRES, enqueuedAtMs + ttl * 1000);
}

/** A queue holds one endpoint's messages of one priority; `0` is the highest priority. */
export interface QueueKey {
  endpointId: string;
  priority: number;
}

/** Azure's queue naming (`MessageQueueIdHelper`): `<endpoint>` or `<endpoint>_Pri<priority>`. */
export function queueName(key: QueueKey, defaultPriority: number): string {
  return key.priority === defaultPriority ? key.endpointId : `${key.endpointId}_Pri${key.priority}`;
}

export const MIN_RETRY_DELAY_MS = 1000;
export const MAX_RETRY_DELAY_MS = 60000;

/**
 * Azure's `ExponentialBackoff(min 1 s, max 60 s, delta 1 s)`:
 * `min(1 s + (2^n - 1) * 1 s * U(0.8, 1.2), 60 s)` for retry `n` (0-based: the first retry waits 1 s); `random01` is U(0, 1).
 */
export function retryDelayMs(retry: number, random01: number): number {
  const n = Math.max(0, Math.min(retry, 30));
  const jitter = 0.8 + 0.4 * random01;
  return Math.min(MIN_RETRY_DELAY_MS + (2 ** n - 1) * 1000 * jitter, MAX_RETRY_DELAY_MS);
}
