import { formatDuration } from '../../../domain/text/duration-text.js';
import type { Status } from '../views.js';
import { TableHead } from './tables.js';

export function ClientsPage({ status }: { status: Status }) {
  if (status.clients.length === 0) return <p>No client is connected.</p>;
  return (
    <table>
      <TableHead caption="Connected clients" columns={['Identity', 'Protocol', 'Connected for', 'Messages in', 'Messages out']} />
      <tbody>
        {status.clients.map((c) => (
          <tr key={c.id}>
            <th scope="row">{c.id}</th>
            <td>{c.protocol}</td>
            <td>{formatDuration(status.runtime.now - c.since)}</td>
            <td>{c.messagesIn}</td>
            <td>{c.messagesOut}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
