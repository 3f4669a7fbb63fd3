import { readFileSync, statSync } from 'node:fs';
import { MAX_MANIFEST_BYTES, manifestTooLarge, parseDeploymentManifestText, type ParsedDeployment } from '../../domain/deployment/deployment-manifest.js';
import { DeploymentStatusCode, type DeploymentStatus } from '../../domain/deployment/deployment-status.js';
import { RouteTable, formatRouteWarning, routeWarnings } from '../../domain/routing/index.js';

/** What `edgeport deploy` found in a manifest: the agent's status and, if present, the hub's. */
export interface ManifestCheck {
  ok: boolean;
  /** `<code> <description>` lines for the failing parts (`$edgeAgent` first, then `$edgeHub`). */
  problems: string[];
  /**
   * Module sections that are not `{"properties.desired": {...}}` (ignored by the runtime), and
   * valid routes that look wrong (`temp > 100` never matches; `$upstream` without an upstream).
   */
  warnings: string[];
  /** The route warnings alone (also in `warnings`), for `edgeport check`'s `routes-can-match`. */
  routeWarnings: string[];
  summary: string;
  /** The parsed manifest (the agent's modules, for `deploy --wait`). */
  deployment?: ParsedDeployment;
}

export interface ManifestCheckOptions {
  /** Whether the runtime has an upstream; `false` warns about routes into `$upstream`, `undefined` skips that. */
  upstream?: boolean;
}

/** Reads a manifest file for checking, refusing one over the size limit before reading it. */
export function readManifestFile(path: string): { ok: true; text: string } | { ok: false; problem: string } {
  try {
    const size = statSync(path).size;
    if (size > MAX_MANIFEST_BYTES) return { ok: false, problem: `${DeploymentStatusCode.ConfigFormatError} ${path}: ${manifestTooLarge(size)}` };
    return { ok: true, text: readFileSync(path, 'utf8') };
  } catch (error) {
    return { ok: false, problem: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
}

function statusLine(part: string, status: DeploymentStatus): string {
  return `${status.code} ${part}: ${status.description}`;
}

/**
 * Validates a manifest as the runtime will: the `$edgeAgent` section with the agent's parser (status
 * 400/412/417 and the description `lastDesiredStatus` would carry), the `$edgeHub` section with the
 * hub's parser, and its routes with the routing engine (an invalid route is a 400 the hub would log).
 */
export function checkManifest(text: string, options: ManifestCheckOptions = {}): ManifestCheck {
  const parsed: ParsedDeployment = parseDeploymentManifestText(text);
  const problems: string[] = [];
  const routeProblems: string[] = [];
  if (!parsed.agent.ok) problems.push(statusLine('$edgeAgent', parsed.agent.status));
  let routes = 0;
  if (parsed.hub !== undefined) {
    if (!parsed.hub.ok) problems.push(statusLine('$edgeHub', parsed.hub.status));
    else {
      try {
        const table = RouteTable.compile(parsed.hub.value.routes);
        routes = table.size;
        const upstream = options.upstream === undefined ? {} : { upstream: options.upstream };
        for (const warning of routeWarnings(table, upstream)) routeProblems.push(`$edgeHub ${formatRouteWarning(warning)}`);
      } catch (error) {
        problems.push(statusLine('$edgeHub', { code: DeploymentStatusCode.ConfigFormatError, description: `Error while parsing desired properties - ${error instanceof Error ? error.message : String(error)}` }));
      }
    }
  }
  const warnings = [...parsed.moduleTwinProblems.map((p) => `${p.path}: ${p.message} (section ignored)`), ...routeProblems];
  if (!parsed.agent.ok || problems.length > 0) return { ok: false, problems, warnings, routeWarnings: routeProblems, summary: '' };
  const modules = parsed.agent.value.modules.map((m) => m.name);
  const twins = Object.keys(parsed.moduleTwins);
  const summary =
    `${modules.length} module${modules.length === 1 ? '' : 's'}${modules.length > 0 ? ` (${modules.join(', ')})` : ''}` +
    (parsed.hub !== undefined ? `, ${routes} route${routes === 1 ? '' : 's'}` : ', no $edgeHub section') +
    (twins.length > 0 ? `, module twins for ${twins.join(', ')}` : '');
  return { ok: true, problems, warnings, routeWarnings: routeProblems, summary, deployment: parsed };
}
