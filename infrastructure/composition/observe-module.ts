import { fileURLToPath } from 'node:url';
import { ContainerModule } from 'inversify';
import { ClientActivity } from '../../application/observe/client-activity.js';
import { OperatorActions } from '../../application/observe/operator-actions.js';
import { RuntimeInfo, RuntimeReadModel } from '../../application/observe/runtime-read-model.js';
import { UpstreamActivity } from '../../application/observe/upstream-activity.js';
import { HostedService } from '../../application/ports/hosted-service.js';
import { DashboardOptions, DashboardServer } from '../../adapters/dashboard/dashboard-server.js';
import { dashboardTokenPath } from '../../adapters/dashboard/dashboard-token.js';

/** The front end `npm run build` writes (Vite): `dist/dashboard-ui/`, beside the compiled code. */
export const DASHBOARD_ASSETS_DIR = fileURLToPath(new URL('../../dashboard-ui/', import.meta.url));

export interface ObserveModuleOptions {
  deviceId: string;
  version: string;
  roles: { hub: boolean; agent: boolean };
  /** An upstream is configured (its connection is followed). */
  upstream: boolean;
  dataDir: string;
  /** `dashboard.*`; undefined or disabled: no dashboard. */
  dashboard?: { enabled: boolean; host: string; port: number; assetsDir?: string; pushIntervalMs?: number };
}

/**
 * The read model (what `edgeport status` and the dashboard show), the operator actions, and the
 * dashboard head. Load it after the hub, upstream and agent modules: its hosted services start
 * last (after the protocol heads) and read what those modules bound.
 */
export function observeModule(options: ObserveModuleOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(RuntimeInfo).toConstantValue(new RuntimeInfo(options.deviceId, options.version, options.roles));
    if (options.roles.hub) {
      bind(ClientActivity).toSelf().inSingletonScope();
      bind(HostedService).toService(ClientActivity);
    }
    if (options.roles.hub && options.upstream) {
      bind(UpstreamActivity).toSelf().inSingletonScope();
      bind(HostedService).toService(UpstreamActivity);
    }
    bind(RuntimeReadModel).toSelf().inSingletonScope();
    bind(HostedService).toService(RuntimeReadModel);
    bind(OperatorActions).toSelf().inSingletonScope();
    const dashboard = options.dashboard;
    if (dashboard?.enabled === true) {
      bind(DashboardOptions).toConstantValue(
        new DashboardOptions(dashboard.host, dashboard.port, dashboard.assetsDir ?? DASHBOARD_ASSETS_DIR, dashboardTokenPath(options.dataDir), dashboard.pushIntervalMs),
      );
      bind(DashboardServer).toSelf().inSingletonScope();
      bind(HostedService).toService(DashboardServer);
    }
  });
}
