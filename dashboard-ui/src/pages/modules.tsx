import { useEffect, useRef, useState } from 'preact/hooks';
import { sendJson } from '../api.js';
import type { Module, Status } from '../views.js';
import { ModuleTable } from './tables.js';

const MAX_LINES = 500;

interface LogLine {
  time: number;
  stream: 'stdout' | 'stderr';
  text: string;
}

/** Modules with restart, stop and start buttons, and the live log tail of one module. */
export function ModulesPage({ status }: { status: Status }) {
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [logsOf, setLogsOf] = useState<string | undefined>(undefined);

  const act = async (module: string, action: 'restart' | 'stop' | 'start') => {
    setBusy(`${action} ${module}`);
    setMessage(`${action} ${module}…`);
    try {
      await sendJson('POST', `/api/modules/${encodeURIComponent(module)}/${action}`, {});
      setMessage(`${module}: ${action} done`);
    } catch (error) {
      setMessage(`${module}: ${action} failed: ${(error as Error).message}`);
    } finally {
      setBusy(undefined);
    }
  };

  const actions = (m: Module) =>
    m.system ? (
      <span class="muted">system module</span>
    ) : (
      <>
        <button type="button" aria-label={`Restart ${m.name}`} disabled={busy !== undefined} onClick={() => void act(m.name, 'restart')}>
          Restart
        </button>
        {m.status === 'stopped' ? (
          <button type="button" aria-label={`Start ${m.name}`} disabled={busy !== undefined} onClick={() => void act(m.name, 'start')}>
            Start
          </button>
        ) : (
          <button type="button" aria-label={`Stop ${m.name}`} disabled={busy !== undefined} onClick={() => void act(m.name, 'stop')}>
            Stop
          </button>
        )}
        <button type="button" aria-label={`Logs of ${m.name}`} aria-pressed={logsOf === m.name} onClick={() => setLogsOf(logsOf === m.name ? undefined : m.name)}>
          Logs
        </button>
      </>
    );

  return (
    <>
      <p class="action-result" role="status" aria-live="polite">
        {message}
      </p>
      <ModuleTable modules={status.modules} actions={actions} />
      {logsOf !== undefined ? <LogTail module={logsOf} /> : null}
    </>
  );
}

/** The last lines of a module's output and then new ones as they come (server-sent events). */
function LogTail({ module }: { module: string }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    setLines([]);
    const events = new EventSource(`/api/modules/${encodeURIComponent(module)}/logs`);
    events.addEventListener('line', (event) => {
      const line = JSON.parse((event as MessageEvent<string>).data) as LogLine;
      setLines((previous) => [...previous.slice(-(MAX_LINES - 1)), line]);
    });
    return () => events.close();
  }, [module]);
  useEffect(() => {
    const element = box.current;
    if (element !== null) element.scrollTop = element.scrollHeight;
  }, [lines]);
  return (
    <section aria-labelledby="log-title">
      <h2 id="log-title">Log of {module}</h2>
      <pre class="log" ref={box} role="log" aria-label={`log of ${module}`} tabIndex={0}>
        {lines.map((l, i) => (
          <span key={i} class={l.stream}>
            {l.text}
            {'\n'}
          </span>
        ))}
      </pre>
    </section>
  );
}
