import { formatRate } from '../../../domain/text/duration-text.js';
import { Sparkline } from '../sparkline.js';
import type { Status } from '../views.js';
import { TableHead } from './tables.js';

/** Each route with the messages it sent to its endpoint, in total and per second (with its last minute). */
export function RoutesPage({ status }: { status: Status }) {
  if (status.routes.length === 0) return <p>No routes: the deployment has none yet.</p>;
  return (
    <table>
      <TableHead caption="Routes" columns={['Name', 'Route', 'Priority', 'Messages', 'Per second']} />
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
