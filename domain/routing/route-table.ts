import { compileConditionTree, type ConditionEvaluator } from './condition-compiler.js';
import { conditionWarnings, type RouteWarning } from './condition-warnings.js';
import { guardCompile } from './compile-condition.js';
import { RouteError, RouteSpecError } from './errors.js';
import { EvalContext, type ConditionMessage } from './eval-context.js';
import { isTwinChangeSource, normalizeMessageSource, normalizeRouteSource } from './message-source.js';
import { parseRouteText, type RouteSink } from './route-parser.js';

/** edgeHub's `RouteFactory.DefaultPriority`: the lowest priority. */
export const DEFAULT_ROUTE_PRIORITY = 2000000000;

/** A route in the `$edgeHub` desired properties: a string (schema 1.0) or an object (schema 1.1+). */
export type RouteSpec = string | { route: string; priority?: number; timeToLiveSecs?: number };

export type Endpoint = { type: 'upstream'; id: '$upstream' } | { type: 'module'; id: string; module: string; input: string };

export interface RoutableMessage extends ConditionMessage {
  /** The message source path, see `messageSource()`. */
  source: string;
}

export interface RouteMatch {
  endpoint: Endpoint;
  priority: number;
  /** 0 = use the global store-and-forward TTL. */
  timeToLiveSecs: number;
  /** The route's name. */
  route: string;
}

interface CompiledRoute {
  readonly index: number;
  readonly normalizedSource: string;
  readonly condition: ConditionEvaluator | undefined;
  readonly endpointIndex: number;
  readonly priority: number;
  readonly match: RouteMatch;
  readonly warnings: readonly RouteWarning[];
}

const MAX_CACHED_SOURCES = 4096;

/**
 * A compiled set of routes. `match` returns one entry per endpoint: when several routes reach the
 * same endpoint, the one with the lowest priority number wins, with its TTL.
 *
 * Work per message: the routes that can apply to a message source are computed once per distinct
 * source string and cached (sorted by priority), so a message is only tested against routes whose
 * FROM matches it; a route is skipped when its endpoint already matched at a better or equal
 * priority; conditions share one evaluation context, so the body is parsed at most once.
 */
export class RouteTable {
  private readonly routes: readonly CompiledRoute[];
  private readonly candidates = new Map<string, readonly CompiledRoute[]>();
  private readonly context = new EvalContext();
  private readonly stamps: Uint32Array;
  private generation = 0;

  /**
   * Valid but suspicious routes, in route order: conditions that can never (or partly never) be
   * true, such as `temp > 100` on a string property. They never make `compile` fail.
   */
  readonly warnings: readonly RouteWarning[];

  private constructor(routes: readonly CompiledRoute[], endpointCount: number) {
    this.routes = routes;
    this.stamps = new Uint32Array(endpointCount);
    this.warnings = Object.freeze(routes.flatMap((r) => r.warnings));
  }

  get size(): number {
    return this.routes.length;
  }

  /** Each route's name and endpoint, in route order (for checks such as "no upstream"). */
  routeEndpoints(): Array<{ route: string; endpoint: Endpoint }> {
    return this.routes.map((r) => ({ route: r.match.route, endpoint: r.match.endpoint }));
  }

  /** Compiles every route; throws a RouteError "Error parsing route {name} - {problem}" for the first bad one. */
  static compile(routes: Record<string, RouteSpec>): RouteTable {
    if (routes === null || typeof routes !== 'object') {
      throw new RouteSpecError('ROUTE_INVALID_SPEC', 'Routes must be an object of route name to route specification');
    }
    const compiled: CompiledRoute[] = [];
    const endpoints = new Map<string, { index: number; endpoint: Endpoint }>();
    for (const [name, spec] of Object.entries(routes)) {
      try {
        const route = compileRoute(name, spec, compiled.length, endpoints);
        if (route !== undefined) compiled.push(route);
      } catch (error) {
        if (error instanceof RouteError) throw error.forRoute(name);
        throw error;
      }
    }
    return new RouteTable(compiled, endpoints.size);
  }

  match(message: RoutableMessage): RouteMatch[] {
    const source = typeof message.source === 'string' ? message.source : '';
    let candidates = this.candidates.get(source);
    if (candidates === undefined) candidates = this.candidatesFor(source);
    const result: RouteMatch[] = [];
    if (candidates.length === 0) return result;

    const generation = (this.generation = (this.generation + 1) >>> 0 || 1);
    const stamps = this.stamps;
    const context = this.context.busy ? new EvalContext() : this.context;
    context.busy = true;
    context.reset(message);
    try {
      for (let i = 0; i < candidates.length; i++) {
        const route = candidates[i] as CompiledRoute;
        if (stamps[route.endpointIndex] === generation) continue;
        if (route.condition === undefined || route.condition(context) === true) {
          stamps[route.endpointIndex] = generation;
          result.push(route.match);
        }
      }
    } finally {
      context.clear();
      context.busy = false;
    }
    return result;
  }

  private candidatesFor(source: string): readonly CompiledRoute[] {
    const key = normalizeMessageSource(source);
    const list = this.routes.filter((r) => key.startsWith(r.normalizedSource)).sort((a, b) => a.priority - b.priority || a.index - b.index);
    if (this.candidates.size >= MAX_CACHED_SOURCES) this.candidates.clear();
    this.candidates.set(source, list);
    return list;
  }
}

function compileRoute(
  name: string,
  spec: RouteSpec,
  index: number,
  endpoints: Map<string, { index: number; endpoint: Endpoint }>,
): CompiledRoute | undefined {
  if (name.length === 0) throw new RouteSpecError('ROUTE_INVALID_SPEC', 'Route name cannot be empty');
  let text: string;
  let priority = DEFAULT_ROUTE_PRIORITY;
  let ttl = 0;
  if (typeof spec === 'string') {
    text = spec;
    // Schema 1.0 skips blank routes.
    if (text.trim().length === 0) return undefined;
  } else if (spec !== null && typeof spec === 'object' && typeof spec.route === 'string') {
    text = spec.route;
    if (spec.priority !== undefined && spec.priority !== null) {
      const p = spec.priority;
      if (!(Number.isInteger(p) && ((p >= 0 && p <= 9) || p === DEFAULT_ROUTE_PRIORITY))) {
        throw new RouteSpecError('ROUTE_INVALID_SPEC', `Invalid priority for route: ${text}, priority can only be between 0-9`);
      }
      priority = p;
    }
    if (spec.timeToLiveSecs !== undefined && spec.timeToLiveSecs !== null) {
      const t = spec.timeToLiveSecs;
      if (!(Number.isInteger(t) && t >= 0 && t <= 0xffffffff)) {
        throw new RouteSpecError('ROUTE_INVALID_SPEC', `Invalid timeToLiveSecs for route: ${text}, it must be a whole number of seconds >= 0 (0 = global TTL)`);
      }
      ttl = t;
    }
  } else {
    throw new RouteSpecError('ROUTE_INVALID_SPEC', `Malformed route specification: expected a string or {"route": "...", "priority": 0-9, "timeToLiveSecs": n}`);
  }

  const parsed = guardCompile(() => parseRouteText(text));
  const twinChangeSource = isTwinChangeSource(parsed.source);
  const tree = parsed.conditionTree;
  const compiled = tree === undefined ? undefined : guardCompile(() => compileConditionTree(tree, { twinChangeSource }));
  const endpoint = endpointOf(parsed.sink);
  let entry = endpoints.get(endpoint.id);
  if (entry === undefined) {
    entry = { index: endpoints.size, endpoint };
    endpoints.set(endpoint.id, entry);
  }
  const match: RouteMatch = Object.freeze({ endpoint: entry.endpoint, priority, timeToLiveSecs: ttl, route: name });
  return {
    index,
    normalizedSource: normalizeRouteSource(parsed.source),
    condition: compiled?.evaluate,
    endpointIndex: entry.index,
    priority,
    match,
    warnings: compiled === undefined ? [] : conditionWarnings(compiled, name),
  };
}

export function endpointOf(sink: RouteSink): Endpoint {
  if (sink.type === 'upstream') return Object.freeze({ type: 'upstream', id: '$upstream' });
  return Object.freeze({ type: 'module', id: `${sink.module}/${sink.input}`, module: sink.module, input: sink.input });
}
