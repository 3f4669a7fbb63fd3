import { DeliveryError } from '../ports/endpoint-delivery.js';

/**
 * Attempts for an error that is not a `DeliveryError` (an adapter failed in a way it did not
 * classify: EAGAIN, a reset socket, a bug) before its message is dropped: ~1+2+4+8+16 s of
 * back-off. Such an error is more often passing than final, so it must not drop at once; but a
 * poison message must not block its queue until TTL either.
 */
export const UNCLASSIFIED_FAILURE_ATTEMPTS = 6;

/**
 * The error to back off with, or undefined to drop the message: a transient `DeliveryError` always
 * retries, a non-transient one never, anything else until `UNCLASSIFIED_FAILURE_ATTEMPTS`.
 */
export function retryableFailure(error: unknown, retries: number): DeliveryError | undefined {
  if (error instanceof DeliveryError) return error.transient ? error : undefined;
  if (retries + 1 >= UNCLASSIFIED_FAILURE_ATTEMPTS) return undefined;
  return new DeliveryError(`unclassified delivery failure (attempt ${retries + 1} of ${UNCLASSIFIED_FAILURE_ATTEMPTS}): ${error instanceof Error ? error.message : String(error)}`, true, { cause: error });
}
