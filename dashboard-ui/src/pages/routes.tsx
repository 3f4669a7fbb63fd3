import { formatRate } from '../../../domain/text/duration-text.js';
import { Sparkline } from '../sparkline.js';
import type { Status } from '../views.js';

/** Each route with the messages it sent to its endpoint, in total and per second (with its last minute). */
export function RoutesPage({ status }: { status: Status }) {
  if (status.routes.length === 0) return <p>No routes: the deployment has none yet.</p>;
  return (
    <table>
      <caption>Routes</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Route</th>
          <th scope="col">Priority</th>
          <th scope="col">Messages</th>
          <th scope="col">Per second</th>
        </tr>
      </thead>
      <tbody>
        {status.routes.map((r) => (
          <tr key={r.name}>
            <th scope="row">{r.name}</th>
            <td>
              <code>{r.route}</code>
            </td>
            <td>{r.priority}</td>
            <td class="total">{r.total}</td>
            <td>
              <span class="rate">{formatRate(r.perSecond)}</span> <Sparkline values={r.history} label={`route ${r.name}`} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
