import { formatDuration } from '../../../domain/text/duration-text.js';
import type { Status } from '../views.js';

export function ClientsPage({ status }: { status: Status }) {
  if (status.clients.length === 0) return <p>No client is connected.</p>;
  return (
    <table>
      <caption>Connected clients</caption>
      <thead>
        <tr>
          <th scope="col">Identity</th>
          <th scope="col">Protocol</th>
          <th scope="col">Connected for</th>
          <th scope="col">Messages in</th>
          <th scope="col">Messages out</th>
        </tr>
      </thead>
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
