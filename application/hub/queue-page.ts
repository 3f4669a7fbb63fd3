/** An entry of a queue page: what the page helpers need to know of it. */
export interface PageEntry {
  readonly offset: number;
  readonly expiresAt: number;
}

/**
 * The next batch of `page` from index `from`: at most `max` entries and, when `maxBytes` is given,
 * at most `maxBytes` of `bytesOf` (but always at least one entry, however large), ending before the
 * first entry that expired at `now` (the pump drops expired entries from the head of the page, not
 * mid-batch).
 */
export function nextBatch<T extends { readonly expiresAt: number }>(
  page: readonly T[],
  from: number,
  max: number,
  now: number,
  maxBytes = Number.POSITIVE_INFINITY,
  bytesOf?: (entry: T) => number,
): T[] {
  const batch: T[] = [];
  let bytes = 0;
  for (let i = from; i < page.length && batch.length < max; i++) {
    const entry = page[i]!;
    if (entry.expiresAt <= now) break;
    if (bytesOf !== undefined) {
      bytes += bytesOf(entry);
      if (bytes > maxBytes && batch.length > 0) break;
    }
    batch.push(entry);
  }
  return batch;
}

/** Removes the entries at the head of `page` that expired at `now`: how many, and the last one's offset (0 when none). */
export function shiftExpired(page: PageEntry[], now: number): { count: number; lastOffset: number } {
  let count = 0;
  let lastOffset = 0;
  while (page.length > 0 && page[0]!.expiresAt <= now) {
    lastOffset = page.shift()!.offset;
    count++;
  }
  return { count, lastOffset };
}
