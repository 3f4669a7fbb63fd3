import { queueName } from '../../../domain/messages/store-and-forward.js';
import { DEFAULT_ROUTE_PRIORITY } from '../../../domain/routing/route-table.js';
import type { CheckContext } from '../check-context.js';
import { type Check, type CheckOutcome, failure, formatAge, formatBytes, ok, warning, worst } from '../check-model.js';

/** Above these shares of `hub.storeAndForward.maxBytes`: warning, error. */
export const STORE_WARNING_RATIO = 0.75;
export const STORE_ERROR_RATIO = 0.9;
/** A queue whose oldest message waited longer than this has a consumer that is away: a warning. */
export const STALE_QUEUE_MS = 3_600_000;

/**
 * Store health: the bytes stored against `hub.storeAndForward.maxBytes` (over 90 % is an error:
 * at the limit new messages are refused), and each endpoint's queue with the age of its oldest
 * undelivered message.
 */
export const storeCheck: Check<CheckContext> = {
  id: 'store',
  description: 'message store has room and its queues drain',
  async run(context) {
    const { config } = context;
    const inspection = await context.store();
    const where = config.storage.kind === 'sqlite' ? config.storage.path : 'PostgreSQL (storage.url)';
    if (inspection instanceof Error) return failure(`cannot read the store at ${where}: ${inspection.message}`, config.storage.kind === 'sqlite' ? 'check storage.path and the data directory' : 'check storage.url and that PostgreSQL answers');
    if (inspection === undefined) return ok(`no store yet at ${where}: edgeport run creates it`);
    const limit = config.hub.storeAndForward.maxBytes;
    const now = context.now();
    const outcomes: CheckOutcome[] = [];
    const queues: string[] = [];
    for (const queue of inspection.queues.filter((q) => q.length > 0)) {
      const age = queue.oldestEnqueuedAt === undefined ? 0 : now - queue.oldestEnqueuedAt;
      const name = queueName({ endpointId: queue.endpoint, priority: queue.priority }, DEFAULT_ROUTE_PRIORITY);
      queues.push(`${name}: ${queue.length} queued, oldest ${formatAge(age)}`);
      if (age > STALE_QUEUE_MS) outcomes.push(warning(`messages for ${name} have waited ${formatAge(age)} (${queue.length} queued)`, `bring ${queue.endpoint === '$upstream' ? 'the upstream connection' : 'that module'} back (edgeport list, edgeport check's upstream line); messages expire after their time to live`));
    }
    const queueText = queues.length > 0 ? queues.join('; ') : 'no queued messages';
    const used = `${formatBytes(inspection.usedBytes)} stored`;
    let usage = `${used} (no limit)`;
    if (limit > 0) {
      const ratio = inspection.usedBytes / limit;
      usage = `${used}, ${Math.round(ratio * 100)}% of the ${formatBytes(limit)} limit`;
      const fix = 'let the backlog drain (is the upstream or a module offline? see the queues below and edgeport list), or raise hub.storeAndForward.maxBytes';
      const full = `the store is ${Math.round(ratio * 100)}% full (${used} of ${formatBytes(limit)})`;
      if (ratio >= STORE_ERROR_RATIO) outcomes.unshift(failure(`${full}: at the limit new messages are refused; ${queueText}`, fix));
      else if (ratio >= STORE_WARNING_RATIO) outcomes.unshift(warning(`${full}; ${queueText}`, fix));
    }
    return worst(outcomes, `${usage}; ${queueText}`);
  },
};
