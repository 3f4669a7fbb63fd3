import { useEffect, useState } from 'preact/hooks';
import { ApiError, getJson, signInFromAddress } from './api.js';
import { ClientsPage } from './pages/clients.js';
import { ModulesPage } from './pages/modules.js';
import { OverviewPage } from './pages/overview.js';
import { QueuesPage } from './pages/queues.js';
import { RoutesPage } from './pages/routes.js';
import { SendPage } from './pages/send.js';
import { TwinsPage } from './pages/twins.js';
import type { Status } from './views.js';

const PAGES = [
  { path: '/', title: 'Overview' },
  { path: '/modules', title: 'Modules' },
  { path: '/routes', title: 'Routes' },
  { path: '/queues', title: 'Queues' },
  { path: '/clients', title: 'Clients' },
  { path: '/twins', title: 'Twins' },
  { path: '/send', title: 'Methods and messages' },
] as const;

function currentPath(): string {
  const path = window.location.hash.replace(/^#/, '');
  return PAGES.some((p) => p.path === path) ? path : '/';
}

type Connection = 'connecting' | 'live' | 'signed-out' | 'lost';

/**
 * Signs in from the address, then follows the runtime's `status` events (server-sent, once a
 * second) and shows the page of the address's fragment (`#/modules`, ...).
 */
export function App() {
  const [path, setPath] = useState(currentPath());
  const [status, setStatus] = useState<Status | undefined>(undefined);
  const [connection, setConnection] = useState<Connection>('connecting');

  useEffect(() => {
    const onHash = () => setPath(currentPath());
    window.addEventListener('hashchange', onHash);
    let events: EventSource | undefined;
    let stopped = false;
    void (async () => {
      try {
        await signInFromAddress();
        setStatus(await getJson<Status>('/api/status'));
      } catch (error) {
        setConnection(error instanceof ApiError && error.status === 401 ? 'signed-out' : 'lost');
        return;
      }
      if (stopped) return;
      events = new EventSource('/api/events');
      events.addEventListener('status', (event) => {
        setStatus(JSON.parse((event as MessageEvent<string>).data) as Status);
        setConnection('live');
      });
      events.addEventListener('error', () => setConnection('lost'));
    })();
    return () => {
      stopped = true;
      events?.close();
      window.removeEventListener('hashchange', onHash);
    };
  }, []);

  const page = PAGES.find((p) => p.path === path) ?? PAGES[0];
  useEffect(() => {
    document.title = `${page.title} · Edgeport`;
  }, [page.title]);

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header>
        <span class="brand">Edgeport</span>
        {status !== undefined ? <span class="device">{status.runtime.deviceId}</span> : null}
        <span class={`connection ${connection}`} role="status">
          {connection === 'live' ? 'live' : connection === 'connecting' ? 'connecting…' : connection === 'lost' ? 'connection lost, retrying…' : 'signed out'}
        </span>
      </header>
      <nav aria-label="Pages">
        <ul>
          {PAGES.map((p) => (
            <li key={p.path}>
              <a href={`#${p.path}`} aria-current={p.path === path ? 'page' : undefined}>
                {p.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <h1>{page.title}</h1>
        {connection === 'signed-out' ? (
          <p class="notice" role="alert">
            Not signed in. Run <code>edgeport dashboard</code> on the gateway and open the URL it prints.
          </p>
        ) : status === undefined ? (
          <p>Loading…</p>
        ) : (
          <Page path={path} status={status} />
        )}
      </main>
    </>
  );
}

function Page({ path, status }: { path: string; status: Status }) {
  switch (path) {
    case '/modules':
      return <ModulesPage status={status} />;
    case '/routes':
      return <RoutesPage status={status} />;
    case '/queues':
      return <QueuesPage status={status} />;
    case '/clients':
      return <ClientsPage status={status} />;
    case '/twins':
      return <TwinsPage status={status} />;
    case '/send':
      return <SendPage />;
    default:
      return <OverviewPage status={status} />;
  }
}
