/**
 * MINIMAL STAND-IN for the routing engine (built on another branch). It implements only the agreed
 * API: source prefix match, `WHERE true` (or no condition), `$upstream` and `BrokeredEndpoint(...)`
 * sinks. It is replaced by the real engine at merge time; nothing else may live in this folder.
 */
export const DEFAULT_ROUTE_PRIORITY = 2000000000;

export type RouteSpec = string | { route: string; priority?: number; timeToLiveSecs?: number };

export type Endpoint =
  | { type: 'upstream'; id: '$upstream' }
  | { type: 'module'; id: string /* `${module}/${input}` */; module: string; input: string };

export interface RoutableMessage {
  source: string;
  body?: Uint8Array | string;
  properties: Record<string, string | null>;
  systemProperties: Record<string, string | null>;
}

export interface RouteMatch {
  endpoint: Endpoint;
  priority: number;
  timeToLiveSecs: number;
  route: string;
}

interface CompiledRoute {
  name: string;
  source: string;
  wildcard: boolean;
  endpoint: Endpoint;
  priority: number;
  timeToLiveSecs: number;
}

const ROUTE = /^\s*FROM\s+(\S+)\s+(?:WHERE\s+(.+?)\s+)?INTO\s+(.+?)\s*$/i;
const BROKERED = /^BrokeredEndpoint\(\s*"\/modules\/([^/"]+)\/inputs\/([^/"]+)"\s*\)$/i;

function compileRoute(name: string, spec: RouteSpec): CompiledRoute {
  const text = typeof spec === 'string' ? spec : spec.route;
  const m = ROUTE.exec(text);
  if (m === null) throw new Error(`route ${name}: cannot parse "${text}"`);
  const [, rawSource = '', condition, sink = ''] = m;
  if (condition !== undefined && condition.trim().toLowerCase() !== 'true') {
    throw new Error(`route ${name}: the stand-in routing engine supports only WHERE true`);
  }
  let endpoint: Endpoint;
  if (sink.trim() === '$upstream') {
    endpoint = { type: 'upstream', id: '$upstream' };
  } else {
    const b = BROKERED.exec(sink.trim());
    if (b === null) throw new Error(`route ${name}: unsupported sink "${sink}"`);
    const module = b[1] ?? '';
    const input = b[2] ?? '';
    endpoint = { type: 'module', id: `${module}/${input}`, module, input };
  }
  const wildcard = rawSource.endsWith('/*');
  const source = wildcard ? rawSource.slice(0, -2) : rawSource;
  const priority = typeof spec === 'string' ? DEFAULT_ROUTE_PRIORITY : (spec.priority ?? DEFAULT_ROUTE_PRIORITY);
  const timeToLiveSecs = typeof spec === 'string' ? 0 : (spec.timeToLiveSecs ?? 0);
  return { name, source, wildcard, endpoint, priority, timeToLiveSecs };
}

export class RouteTable {
  private constructor(private readonly routes: readonly CompiledRoute[]) {}

  static compile(routes: Record<string, RouteSpec>): RouteTable {
    return new RouteTable(Object.entries(routes).map(([name, spec]) => compileRoute(name, spec)));
  }

  get size(): number {
    return this.routes.length;
  }

  match(message: RoutableMessage): RouteMatch[] {
    const out: RouteMatch[] = [];
    for (const r of this.routes) {
      const hit = r.wildcard
        ? message.source === r.source || message.source.startsWith(`${r.source}/`)
        : message.source === r.source;
      if (hit) out.push({ endpoint: r.endpoint, priority: r.priority, timeToLiveSecs: r.timeToLiveSecs, route: r.name });
    }
    return out;
  }
}

export function messageSource(systemProperties: Record<string, string | null>): string {
  if (systemProperties['messageType'] === 'twinChangeNotification') return '/twinChangeNotifications';
  const moduleId = systemProperties['connectionModuleId'];
  if (moduleId === undefined || moduleId === null || moduleId === '') return '/messages';
  const output = systemProperties['outputName'];
  if (output === undefined || output === null || output === '') return `/messages/modules/${moduleId}`;
  return `/messages/modules/${moduleId}/outputs/${output}`;
}
