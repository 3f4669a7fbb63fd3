import type { Status } from '../views.js';
import { QueueTable } from './tables.js';

export function QueuesPage({ status }: { status: Status }) {
  return <QueueTable queues={status.queues} now={status.runtime.now} />;
}
