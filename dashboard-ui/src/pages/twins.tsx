import { useEffect, useState } from 'preact/hooks';
import { getJson, sendJson, twinPath } from '../api.js';
import type { Status, Twin } from '../views.js';

/** Desired and reported properties of any twin; a module twin's desired properties are edited here in standalone mode. */
export function TwinsPage({ status }: { status: Status }) {
  const [ids, setIds] = useState<string[]>([]);
  const [selected, setSelected] = useState('');
  const [twin, setTwin] = useState<Twin | undefined>(undefined);
  const [patch, setPatch] = useState('{\n  \n}');
  const [message, setMessage] = useState('');

  useEffect(() => {
    void getJson<{ ids: string[] }>('/api/twins').then(
      (body) => setIds(body.ids),
      (error: Error) => setMessage(`cannot list twins: ${error.message}`),
    );
  }, []);

  const load = async (id: string) => {
    setSelected(id);
    setTwin(undefined);
    if (id === '') return;
    try {
      setTwin(await getJson<Twin>(twinPath(id)));
    } catch (error) {
      setMessage(`cannot read the twin of ${id}: ${(error as Error).message}`);
    }
  };

  const save = async (event: Event) => {
    event.preventDefault();
    let body: unknown;
    try {
      body = JSON.parse(patch);
    } catch (error) {
      setMessage(`the patch is not JSON: ${(error as Error).message}`);
      return;
    }
    try {
      const answer = await sendJson<{ version: number }>('PATCH', `${twinPath(selected)}/desired`, { patch: body });
      setMessage(`desired properties of ${selected} saved (version ${answer.version})`);
      await load(selected);
    } catch (error) {
      setMessage(`not saved: ${(error as Error).message}`);
    }
  };

  const editable = status.runtime.standalone && selected.includes('/');
  return (
    <>
      <label for="twin-id">Twin</label>{' '}
      <select id="twin-id" value={selected} onChange={(e) => void load((e.target as HTMLSelectElement).value)}>
        <option value="">choose a device or module…</option>
        {ids.map((id) => (
          <option key={id} value={id}>
            {id}
          </option>
        ))}
      </select>
      <p class="action-result" role="status" aria-live="polite">
        {message}
      </p>
      {twin !== undefined ? (
        <div class="twin">
          <section aria-labelledby="desired-title">
            <h2 id="desired-title">Desired</h2>
            <pre tabIndex={0}>{JSON.stringify(twin.desired, null, 2)}</pre>
          </section>
          <section aria-labelledby="reported-title">
            <h2 id="reported-title">Reported</h2>
            <pre tabIndex={0}>{JSON.stringify(twin.reported, null, 2)}</pre>
          </section>
        </div>
      ) : null}
      {twin !== undefined && editable ? (
        <form onSubmit={(e) => void save(e)}>
          <h2>Change desired properties</h2>
          <label for="desired-patch">Desired properties patch (JSON; null removes a property)</label>
          <textarea id="desired-patch" rows={6} value={patch} onInput={(e) => setPatch((e.target as HTMLTextAreaElement).value)} />
          <button type="submit">Save desired properties</button>
        </form>
      ) : twin !== undefined && !status.runtime.standalone ? (
        <p class="muted">Desired properties come from the cloud: change them there.</p>
      ) : null}
    </>
  );
}
