/** The dashboard API (same origin only; the session cookie is HttpOnly, so no script ever holds it). */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function answer<T>(response: Response): Promise<T> {
  const text = await response.text();
  const body = text === '' ? {} : (JSON.parse(text) as unknown);
  if (!response.ok) throw new ApiError(response.status, (body as { message?: string }).message ?? `the runtime answered ${response.status}`);
  return body as T;
}

export async function getJson<T>(path: string): Promise<T> {
  return answer<T>(await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' }));
}

export async function sendJson<T>(method: 'POST' | 'PATCH', path: string, body: unknown): Promise<T> {
  return answer<T>(await fetch(path, { method, headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' }));
}

/**
 * Signs in with the token of the URL that `edgeport dashboard` printed (`#token=...`): the token
 * goes to the runtime in a request body, the runtime sets the session cookie, and the address
 * (and so the browser history) keeps no token.
 */
export async function signInFromAddress(): Promise<void> {
  const match = /^#token=([A-Za-z0-9_-]+)/.exec(window.location.hash);
  if (match === null) return;
  history.replaceState(null, '', `${window.location.pathname}#/`);
  await sendJson('POST', '/api/session', { token: match[1] });
}

/** Percent-encodes each part of `device/module` for a path. */
export function twinPath(id: string): string {
  const [device, module] = id.split('/');
  return module === undefined ? `/api/twins/${encodeURIComponent(device ?? '')}` : `/api/twins/${encodeURIComponent(device ?? '')}/modules/${encodeURIComponent(module)}`;
}
