import type { ComponentChildren } from 'preact';
import { formatDuration, formatRate } from '../../../domain/text/duration-text.js';
import { Sparkline } from '../sparkline.js';
import type { Module, Queue } from '../views.js';

/** A table's caption and column headers. */
export function TableHead({ caption, columns }: { caption: string; columns: readonly string[] }) {
  return (
    <>
      <caption>{caption}</caption>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c} scope="col">
              {c}
            </th>
          ))}
        </tr>
      </thead>
    </>
  );
}

/** The modules table (overview and modules page); `actions` adds a cell of buttons per row. */
export function ModuleTable({ modules, actions }: { modules: readonly Module[]; actions?: (m: Module) => ComponentChildren }) {
  return (
    <table>
      <TableHead caption="Modules" columns={['Name', 'Status', 'Uptime', 'Restarts', 'Exit code', 'Description', ...(actions !== undefined ? ['Actions'] : [])]} />
      <tbody>
        {modules.map((m) => (
          <tr key={m.name}>
            <th scope="row">{m.name}</th>
            <td class={`module-status ${m.status}`}>{m.status}</td>
            <td>{m.uptimeSeconds === undefined ? '–' : formatDuration(m.uptimeSeconds * 1000)}</td>
            <td class="restarts">{m.restartCount}</td>
            <td>{m.exitCode}</td>
            <td>{m.description}</td>
            {actions !== undefined ? <td class="actions">{actions(m)}</td> : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The queues table: depth, oldest entry, rates in and out with their last minute. */
export function QueueTable({ queues, now }: { queues: readonly Queue[]; now: number }) {
  if (queues.length === 0) return <p>No queues yet: nothing was routed.</p>;
  return (
    <table>
      <TableHead caption="Queues" columns={['Endpoint', 'Priority', 'Depth', 'Oldest', 'In per second', 'Out per second', 'Last error']} />
      <tbody>
        {queues.map((q) => (
          <tr key={`${q.endpoint} ${q.priority}`}>
            <th scope="row">{q.endpoint}</th>
            <td>{q.priority}</td>
            <td class="depth">{q.depth}</td>
            <td>{q.oldestAgeMs === undefined ? '–' : formatDuration(q.oldestAgeMs)}</td>
            <td>
              <span class="rate rate-in">{formatRate(q.inPerSecond)}</span> <Sparkline values={q.inHistory} label={`${q.endpoint} in`} />
            </td>
            <td>
              <span class="rate rate-out">{formatRate(q.outPerSecond)}</span> <Sparkline values={q.outHistory} label={`${q.endpoint} out`} />
            </td>
            <td>{q.lastError === undefined ? '' : `${formatDuration(now - q.lastError.at)} ago: ${q.lastError.message}`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
