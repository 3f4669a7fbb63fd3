import { inject, injectable } from 'inversify';
import type { DeploymentStatus } from '../../domain/deployment/deployment-status.js';
import { moduleIdentity } from '../../domain/identity/identity.js';
import { formatRouteWarning, type RouteWarning } from '../../domain/routing/index.js';
import type { JsonObject } from '../../domain/twins/json.js';
import { diffTwinProperties, isEmptyPatch } from '../../domain/twins/twin-patch.js';
import { DeploymentSource, type DeploymentSnapshot } from '../ports/deployment-source.js';
import { HostedService, type ListenInfo } from '../ports/hosted-service.js';
import { Logger } from '../ports/logger.js';
import { HubIdentity } from './hub-identity.js';
import { PipelineOptions } from './pipeline-options.js';
import { RouteConfig } from './route-config.js';
import { TwinService } from './twin-service.js';

/**
 * Gives the hub its part of the deployment: the `$edgeHub` routes and store-and-forward TTL, and
 * each module's initial desired properties (`modulesContent.<module>`). An invalid `$edgeHub`
 * section keeps the previous routes running and is reported as 400, as Azure's edge hub does.
 */
@injectable()
export class ApplyHubDeployment extends HostedService {
  readonly name = 'hub-deployment';
  private readonly log: Logger;
  private unsubscribe: (() => void) | undefined;
  private applied: DeploymentSnapshot | undefined;
  private applying: Promise<void> = Promise.resolve();
  /** `$edgeHub` reported `lastDesiredStatus`. */
  status: DeploymentStatus = { code: 200, description: '' };
  /** What looked wrong in the routes last applied (they were still applied: Azure accepts them). */
  warnings: readonly RouteWarning[] = [];

  constructor(
    @inject(DeploymentSource) private readonly source: DeploymentSource,
    @inject(RouteConfig) private readonly routes: RouteConfig,
    @inject(PipelineOptions) private readonly pipeline: PipelineOptions,
    @inject(TwinService) private readonly twins: TwinService,
    @inject(HubIdentity) private readonly hub: HubIdentity,
    @inject(Logger) logger: Logger,
  ) {
    super();
    this.log = logger.child({ component: 'hub-deployment' });
  }

  async start(): Promise<ListenInfo[]> {
    this.unsubscribe = this.source.onChange(() => void this.schedule());
    await this.source.start();
    await this.schedule();
    return [];
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.applying;
    await this.source.stop();
  }

  /** Applies the latest snapshot once; changes arriving meanwhile queue behind it. */
  private schedule(): Promise<void> {
    this.applying = this.applying.then(() => this.apply()).catch((error: unknown) => {
      this.log.error('applying the deployment to the hub failed', { error: error instanceof Error ? error.message : String(error) });
    });
    return this.applying;
  }

  private async apply(): Promise<void> {
    const snapshot = this.source.current();
    // A new snapshot object is a change (a twin source keeps the `$edgeAgent` version when only `$edgeHub` changed).
    if (snapshot === undefined || snapshot === this.applied) return;
    this.applied = snapshot;
    const hub = snapshot.deployment.hub;
    if (hub !== undefined) {
      if (!hub.ok) {
        this.reject(snapshot.version, hub.status.description);
      } else {
        const upstream = this.pipeline.upstreamConfigured;
        const update = this.routes.replace(hub.value.routes, upstream === undefined ? {} : { upstream });
        if (!update.ok) {
          this.reject(snapshot.version, update.error);
        } else {
          const ttl = hub.value.storeAndForwardConfiguration?.timeToLiveSecs;
          if (ttl !== undefined) this.pipeline.timeToLiveSecs = ttl;
          this.status = { code: 200, description: '' };
          this.warnings = update.warnings;
          this.log.info(`routes applied: ${update.size}`, { version: snapshot.version, routes: update.size, timeToLiveSecs: this.pipeline.timeToLiveSecs });
          for (const warning of update.warnings) this.log.warn(formatRouteWarning(warning), { version: snapshot.version, route: warning.route, code: warning.code });
        }
      }
    }
    const hubVersion = snapshot.deployment.hubDesiredVersion;
    if (hub !== undefined && hubVersion !== undefined) await this.reportHubStatus(hubVersion);
    for (const [module, desired] of Object.entries(snapshot.deployment.moduleTwins)) {
      const identity = moduleIdentity(this.hub.edgeDeviceId, module);
      const current = (await this.twins.get(identity)).desired.properties;
      // The manifest was parsed from JSON text, so its values are JSON values.
      const patch = diffTwinProperties(current, desired as JsonObject);
      if (isEmptyPatch(patch)) continue;
      try {
        await this.twins.updateDesired(identity, patch);
      } catch (error) {
        this.log.warn(`desired properties of module ${module} not applied`, { module, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  /**
   * `$edgeHub` reported properties when the configuration came from the `$edgeHub` twin
   * (iotedge-semantics.md §2.4): `lastDesiredVersion` and `lastDesiredStatus`.
   */
  private async reportHubStatus(version: number): Promise<void> {
    try {
      await this.twins.updateReported(moduleIdentity(this.hub.edgeDeviceId, '$edgeHub'), {
        lastDesiredVersion: version,
        lastDesiredStatus: { code: this.status.code, description: this.status.description },
        routeWarnings: reportedRouteWarnings(this.warnings),
      });
    } catch (error) {
      this.log.warn('$edgeHub reported properties not written', { error: error instanceof Error ? error.message : String(error) });
    }
  }

  private reject(version: number, problem: string): void {
    this.status = { code: 400, description: `Error while parsing desired properties - ${problem}` };
    this.log.warn(`$edgeHub configuration of deployment ${version} rejected (400); previous routes keep running`, { version, problem });
  }
}

/** At most this many routes are listed in `routeWarnings` (the reported document is limited to 32 KB). */
export const MAX_REPORTED_ROUTE_WARNINGS = 20;
/** Each route's text is cut to this length (a twin string value holds at most 4 KB). */
const MAX_REPORTED_WARNING_CHARS = 1000;

/**
 * `$edgeHub` reported `routeWarnings`: `{ <route name>: "<warning>; <warning>" }` (route names are
 * twin keys already), or `null` to remove an earlier list. An Edgeport extension: Azure's edgeHub
 * has no such property; IoT Hub keeps it like any reported property.
 */
export function reportedRouteWarnings(warnings: readonly RouteWarning[]): JsonObject | null {
  const byRoute = new Map<string, string[]>();
  for (const warning of warnings) {
    const key = warning.route ?? 'routes';
    byRoute.set(key, [...(byRoute.get(key) ?? []), warning.message]);
  }
  if (byRoute.size === 0) return null;
  const reported: JsonObject = {};
  for (const [route, messages] of [...byRoute].slice(0, MAX_REPORTED_ROUTE_WARNINGS)) {
    const text = messages.join('; ');
    // Twin property names exclude control characters, white space, '.', '$' and '#' (twin-limits.ts).
    const key = route.replace(/[\u0000-\u0020\u007f-\u009f.$#]/g, '_').slice(0, 200);
    reported[key] = text.length > MAX_REPORTED_WARNING_CHARS ? `${text.slice(0, MAX_REPORTED_WARNING_CHARS - 3)}...` : text;
  }
  return reported;
}
