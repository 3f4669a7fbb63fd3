import type { IncomingMessage, ServerResponse } from 'node:http';
import { ObserveError } from '../../application/observe/observe-error.js';
import type { OperatorActions } from '../../application/observe/operator-actions.js';
import type { RuntimeReadModel } from '../../application/observe/runtime-read-model.js';
import { sendJson } from './unix-socket-http.js';

/** What the read-model routes answer from; either may be absent (then they answer 503). */
export interface ReadModelRouteDeps {
  readModel?: RuntimeReadModel | undefined;
  actions?: OperatorActions | undefined;
}

type Handler = (deps: Required<ReadModelRouteDeps>, params: string[]) => Promise<unknown>;

interface Route {
  method: 'GET' | 'POST';
  /** Path segments; `:x` matches any one segment. */
  path: string[];
  handler: Handler;
}

/**
 * The read model on the management API (the CLI views `edgeport status|routes|queues|clients|twin
 * show` use them), as a table of routes so that a router can take them over:
 *
 * - `GET /status` -> `StatusView` (runtime, deployment, modules, queues, routes, clients, upstream);
 * - `GET /routes` -> `{routes: RouteView[]}`, `GET /queues` -> `{queues}`, `GET /clients` -> `{clients}`;
 * - `GET /twins` -> `{ids}`; `GET /twins/{d}` and `GET /twins/{d}/modules/{m}` -> `TwinView`;
 * - `POST /modules/{m}/stop` and `POST /modules/{m}/start` -> `{}` (desired status until the next deployment).
 */
export const READ_MODEL_ROUTES: readonly Route[] = [
  { method: 'GET', path: ['status'], handler: ({ readModel }) => readModel.status() },
  { method: 'GET', path: ['routes'], handler: async ({ readModel }) => ({ routes: readModel.routes() }) },
  { method: 'GET', path: ['queues'], handler: async ({ readModel }) => ({ queues: await readModel.queues() }) },
  { method: 'GET', path: ['clients'], handler: async ({ readModel }) => ({ clients: readModel.clients() }) },
  { method: 'GET', path: ['twins'], handler: async ({ readModel }) => ({ ids: await readModel.twinIds() }) },
  { method: 'GET', path: ['twins', ':d'], handler: ({ readModel }, [d]) => readModel.twin(d!) },
  { method: 'GET', path: ['twins', ':d', 'modules', ':m'], handler: ({ readModel }, [d, m]) => readModel.twin(`${d}/${m}`) },
  { method: 'POST', path: ['modules', ':m', 'stop'], handler: async ({ actions }, [m]) => (await actions.module(m!, 'stop'), {}) },
  { method: 'POST', path: ['modules', ':m', 'start'], handler: async ({ actions }, [m]) => (await actions.module(m!, 'start'), {}) },
];

function match(route: Route, segments: readonly string[]): string[] | undefined {
  if (route.path.length !== segments.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const part = route.path[i]!;
    if (part.startsWith(':')) params.push(segments[i]!);
    else if (part !== segments[i]) return undefined;
  }
  return params;
}

/**
 * Answers `request` when it is one of `READ_MODEL_ROUTES` and returns true; returns false (nothing
 * written) for any other path, which the caller then handles. A path it knows with another method
 * is answered 405.
 */
export async function handleReadModelRoute(request: IncomingMessage, response: ServerResponse, segments: readonly string[], deps: ReadModelRouteDeps): Promise<boolean> {
  const routes = READ_MODEL_ROUTES.map((route) => ({ route, params: match(route, segments) })).filter((m) => m.params !== undefined);
  if (routes.length === 0) return false;
  const found = routes.find((m) => m.route.method === request.method);
  if (found === undefined) {
    // `POST /twins/{d}/methods` and the like belong to the caller's own routes.
    if (request.method !== 'GET' && routes.every((m) => m.route.method === 'GET')) return false;
    sendJson(response, 405, { message: `use ${routes.map((m) => m.route.method).join(' or ')}` });
    return true;
  }
  const { readModel, actions } = deps;
  if (readModel === undefined || actions === undefined) {
    sendJson(response, 503, { message: 'the read model is not running in this runtime' });
    return true;
  }
  try {
    sendJson(response, 200, await found.route.handler({ readModel, actions }, found.params!));
  } catch (error) {
    if (error instanceof ObserveError) sendJson(response, error.status, { message: error.message });
    else throw error;
  }
  return true;
}
