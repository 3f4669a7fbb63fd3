import type { RouteWarning } from './condition-warnings.js';
import { RouteTable, type RouteSpec } from './route-table.js';

export interface RouteWarningOptions {
  /**
   * Whether this runtime has an upstream (`upstream.kind` other than "none"). `false` adds a
   * `ROUTE_NO_UPSTREAM` warning for every route into `$upstream`; `undefined` skips that check.
   */
  readonly upstream?: boolean;
}

/**
 * Everything suspicious about a route set that is still valid (Azure accepts it with status 200):
 * conditions that can never match (`temp > 100` on a string property), parts of conditions that
 * can never be true, and routes into `$upstream` when no upstream is configured. Pure; throws the
 * same `RouteError` as `RouteTable.compile` for an invalid route. Used by the hub when it applies a
 * deployment, by `edgeport deploy` / `config check`, and by `edgeport check`.
 */
export function routeWarnings(routes: Record<string, RouteSpec> | RouteTable, options: RouteWarningOptions = {}): RouteWarning[] {
  const table = routes instanceof RouteTable ? routes : RouteTable.compile(routes);
  const warnings = [...table.warnings];
  if (options.upstream === false) {
    for (const { route, endpoint } of table.routeEndpoints()) {
      if (endpoint.type !== 'upstream') continue;
      warnings.push({
        code: 'ROUTE_NO_UPSTREAM',
        route,
        message: 'sends to $upstream but no upstream is configured (upstream.kind = "none"): its messages are stored until their time to live expires; configure upstream or remove the route',
      });
    }
  }
  return warnings;
}
