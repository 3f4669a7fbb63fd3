import { ObserveError } from '../../application/observe/observe-error.js';
import type { OperatorActions } from '../../application/observe/operator-actions.js';
import type { RuntimeReadModel } from '../../application/observe/runtime-read-model.js';
import { HttpError, sendJson } from './http-errors.js';
import type { HttpRouter, RouteRequest } from './http-router.js';

/** What the read-model routes answer from; either may be absent (then they answer 503). */
export interface ReadModelRouteDeps {
  readModel?: RuntimeReadModel | undefined;
  actions?: OperatorActions | undefined;
}

type Handler = (deps: Required<ReadModelRouteDeps>, params: Readonly<Record<string, string>>) => Promise<unknown>;

/**
 * The read model on the management API (the CLI views `edgeport status|routes|queues|clients|twin
 * show` use them):
 *
 * - `GET /status` -> `StatusView` (runtime, deployment, modules, queues, routes, clients, upstream);
 * - `GET /routes` -> `{routes: RouteView[]}`, `GET /queues` -> `{queues}`, `GET /clients` -> `{clients}`;
 * - `GET /twins` -> `{ids}`; `GET /twins/{d}` and `GET /twins/{d}/modules/{m}` -> `TwinView`;
 * - `POST /modules/{m}/stop` and `POST /modules/{m}/start` -> `{}` (desired status until the next deployment).
 */
const READ_MODEL_ROUTES: ReadonlyArray<{ method: 'GET' | 'POST'; path: string; handler: Handler }> = [
  { method: 'GET', path: '/status', handler: ({ readModel }) => readModel.status() },
  { method: 'GET', path: '/routes', handler: async ({ readModel }) => ({ routes: readModel.routes() }) },
  { method: 'GET', path: '/queues', handler: async ({ readModel }) => ({ queues: await readModel.queues() }) },
  { method: 'GET', path: '/clients', handler: async ({ readModel }) => ({ clients: readModel.clients() }) },
  { method: 'GET', path: '/twins', handler: async ({ readModel }) => ({ ids: await readModel.twinIds() }) },
  { method: 'GET', path: '/twins/:d', handler: ({ readModel }, { d }) => readModel.twin(d!) },
  { method: 'GET', path: '/twins/:d/modules/:m', handler: ({ readModel }, { d, m }) => readModel.twin(`${d}/${m}`) },
  { method: 'POST', path: '/modules/:m/stop', handler: async ({ actions }, { m }) => (await actions.module(m!, 'stop'), {}) },
  { method: 'POST', path: '/modules/:m/start', handler: async ({ actions }, { m }) => (await actions.module(m!, 'start'), {}) },
];

/** Registers the read-model routes on the management API's router. */
export function registerReadModelRoutes(router: HttpRouter, deps: ReadModelRouteDeps): void {
  for (const route of READ_MODEL_ROUTES) {
    router.on(route.method, route.path, async ({ response, params }: RouteRequest) => {
      const { readModel, actions } = deps;
      if (readModel === undefined || actions === undefined) throw new HttpError(503, 'the read model is not running in this runtime');
      try {
        sendJson(response, 200, await route.handler({ readModel, actions }, params));
      } catch (error) {
        if (error instanceof ObserveError) throw new HttpError(error.status, error.message);
        throw error;
      }
    });
  }
}
