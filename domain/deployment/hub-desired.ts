import { DeploymentStatusCode, type ParseResult } from './deployment-status.js';
import { parseDotnetVersion } from './agent-desired.js';
import { describe, isObject } from './problems.js';

/** `RouteFactory.DefaultPriority`: a route without `priority` ranks below 0..9. */
export const DEFAULT_ROUTE_PRIORITY = 2_000_000_000;

/** One route as the deployment gives it; the routing engine compiles `route`. */
export interface RouteSpec {
  route: string;
  /** 0 (highest) to 9, or DEFAULT_ROUTE_PRIORITY. */
  priority: number;
  /** 0 = the store-and-forward time to live. */
  timeToLiveSecs: number;
}

export interface StoreAndForwardConfiguration {
  /** Negative = keep forever. */
  timeToLiveSecs: number;
  maxSizeBytes?: number;
}

/** Validated `$edgeHub` desired properties (Azure `EdgeHubConfig`, routes not yet compiled). */
export interface EdgeHubDesired {
  schemaVersion: string;
  routes: Record<string, RouteSpec>;
  storeAndForwardConfiguration?: StoreAndForwardConfiguration;
  /** Schema 1.2+: `mqttBroker` (bridges, authorizations), carried as given. */
  mqttBroker?: unknown;
}

class HubConfigError extends Error {}

function fail(message: string): never {
  throw new HubConfigError(message);
}

function parseVersion(value: unknown): string {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) fail('EdgeHub config missing SchemaVersion');
  const text = String(value);
  const parsed = parseDotnetVersion(text.trim());
  if (parsed === undefined || parsed[0] !== 1 || (parsed[1] ?? 0) > 3) {
    fail(`EdgeHub config contains unsupported SchemaVersion: ${text}`);
  }
  return text;
}

function uintField(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 4294967295) return value;
  return fail(`${what} must be an unsigned integer (got ${describe(value)})`);
}

function parseRoute(name: string, value: unknown, allowObjects: boolean): RouteSpec | undefined {
  if (name.trim() === '') fail('Route name cannot be empty');
  if (typeof value === 'string') return value.trim() === '' ? undefined : { route: value, priority: DEFAULT_ROUTE_PRIORITY, timeToLiveSecs: 0 };
  if (!allowObjects || !isObject(value)) fail(`Malformed route specification: ${JSON.stringify(value) ?? 'undefined'}`);
  const route = value['route'];
  if (typeof route !== 'string') fail(`Malformed route specification: ${JSON.stringify(value)}`);
  if (route.trim() === '') return undefined;
  const priority = value['priority'] === undefined || value['priority'] === null ? DEFAULT_ROUTE_PRIORITY : uintField(value['priority'], `priority of route ${name}`);
  if (priority !== DEFAULT_ROUTE_PRIORITY && priority > 9) fail(`Invalid priority for route: ${name}, priority can only be between 0-9`);
  const timeToLiveSecs = value['timeToLiveSecs'] === undefined || value['timeToLiveSecs'] === null ? 0 : uintField(value['timeToLiveSecs'], `timeToLiveSecs of route ${name}`);
  return { route, priority, timeToLiveSecs };
}

function parseStoreAndForward(value: unknown, required: boolean): StoreAndForwardConfiguration | undefined {
  if (value === undefined || value === null) {
    if (required) fail('storeAndForwardConfiguration is required');
    return undefined;
  }
  if (!isObject(value)) fail(`storeAndForwardConfiguration must be an object (got ${describe(value)})`);
  const ttl = value['timeToLiveSecs'];
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl))) fail(`storeAndForwardConfiguration.timeToLiveSecs must be an integer (got ${describe(ttl)})`);
  const out: StoreAndForwardConfiguration = { timeToLiveSecs: ttl ?? 7200 };
  const limits = value['storeLimits'];
  if (limits !== undefined && limits !== null) {
    if (!isObject(limits)) fail(`storeAndForwardConfiguration.storeLimits must be an object (got ${describe(limits)})`);
    const max = limits['maxSizeBytes'];
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 0) fail(`storeAndForwardConfiguration.storeLimits.maxSizeBytes must be a non-negative integer (got ${describe(max)})`);
    out.maxSizeBytes = max;
  }
  return out;
}

/**
 * `$edgeHub` desired properties (Azure `EdgeHubConfigParser`): schema 1.0 takes route strings,
 * 1.1+ also `{route, priority, timeToLiveSecs}` and requires `routes` and
 * `storeAndForwardConfiguration`. Errors give 400 `Error while parsing desired properties - ...`.
 */
export function parseHubDesired(desired: unknown): ParseResult<EdgeHubDesired> {
  try {
    if (!isObject(desired)) fail(`$edgeHub desired properties must be an object (got ${describe(desired)})`);
    const schemaVersion = parseVersion(desired['schemaVersion']);
    const minor = parseDotnetVersion(schemaVersion.trim())?.[1] ?? 0;
    const rawRoutes = desired['routes'];
    if (minor >= 1 && (rawRoutes === undefined || rawRoutes === null)) fail('routes is required');
    if (rawRoutes !== undefined && rawRoutes !== null && !isObject(rawRoutes)) fail(`routes must be an object (got ${describe(rawRoutes)})`);
    const routes: Record<string, RouteSpec> = {};
    for (const [name, value] of Object.entries(rawRoutes ?? {})) {
      const route = parseRoute(name, value, minor >= 1);
      if (route !== undefined) routes[name] = route;
    }
    const result: EdgeHubDesired = { schemaVersion, routes };
    const storeAndForward = parseStoreAndForward(desired['storeAndForwardConfiguration'], minor >= 1);
    if (storeAndForward !== undefined) result.storeAndForwardConfiguration = storeAndForward;
    if (minor >= 2 && desired['mqttBroker'] !== undefined) result.mqttBroker = desired['mqttBroker'];
    return { ok: true, value: result };
  } catch (error) {
    if (!(error instanceof HubConfigError)) throw error;
    return { ok: false, status: { code: DeploymentStatusCode.ConfigFormatError, description: `Error while parsing desired properties - ${error.message}` } };
  }
}
