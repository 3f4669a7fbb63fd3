import { formatDuration } from '../../../domain/text/duration-text.js';
import type { Status } from '../views.js';
import { ModuleTable, QueueTable } from './tables.js';

/** What runs, what flows, what is stuck: the runtime, its deployment and upstream, modules, queues. */
export function OverviewPage({ status }: { status: Status }) {
  const { runtime, deployment, upstream } = status;
  return (
    <>
      <dl class="cards">
        <div>
          <dt>Runtime</dt>
          <dd>
            Edgeport {runtime.version}, up {formatDuration(runtime.now - runtime.startedAt)}
            <br />
            {[runtime.hub ? 'hub' : '', runtime.agent ? 'agent' : ''].filter(Boolean).join(' + ')}
          </dd>
        </div>
        {deployment !== undefined ? (
          <div>
            <dt>Deployment</dt>
            <dd>
              {deployment.version === undefined ? 'none yet' : `version ${deployment.version}`}, status {deployment.code}
              {deployment.description !== '' ? <p class="problem">{deployment.description}</p> : null}
            </dd>
          </div>
        ) : null}
        <div>
          <dt>Upstream</dt>
          <dd>
            {upstream === undefined
              ? 'none (standalone)'
              : `${upstream.kind}: ${upstream.connected ? 'connected' : 'disconnected'} for ${formatDuration(runtime.now - upstream.since)}, backlog ${upstream.backlog}`}
            {upstream?.lastError !== undefined ? <p class="problem">last error: {upstream.lastError.message}</p> : null}
          </dd>
        </div>
        <div>
          <dt>Clients</dt>
          <dd>{status.clients.length} connected</dd>
        </div>
      </dl>
      {runtime.agent ? <ModuleTable modules={status.modules} /> : null}
      {runtime.hub ? <QueueTable queues={status.queues} now={runtime.now} /> : null}
    </>
  );
}
