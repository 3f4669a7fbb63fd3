/**
 * The dashboard's cost to the message path (issue 15: < 5 %), for `bench/hub.ts`: routed throughput
 * of the same hub without the dashboard and with it on, plus one headless chromium on its overview
 * page (status pushed every second), alternating over the rounds of one run; medians compared.
 * Prints `dashboard cost = X% (...)`. The browser runs on the same machine, so its CPU counts too.
 */
import type { Container } from 'inversify';
import { freePort } from '../test/support/free-port.js';
import { launchBrowser } from '../test/support/dashboard/browser.js';
import { observeModule } from '../infrastructure/composition/observe-module.js';
import { dashboardTokenPath, ensureDashboardToken } from '../adapters/dashboard/dashboard-token.js';

interface ThroughputPath {
  close(): Promise<void>;
}

type Extra = (container: Container, dir: string) => Promise<void>;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function dashboardCost<P extends ThroughputPath>(routedPath: (extra?: Extra) => Promise<P>, throughput: (path: P) => Promise<number>, rounds: number): Promise<void> {
  const without: number[] = [];
  const withDashboard: number[] = [];
  const browser = await launchBrowser();
  try {
    for (let round = 1; round <= rounds; round++) {
      const plain = await routedPath(async (container) => {
        // The read model alone (it always runs in `edgeport run`): sampling, no dashboard.
        container.load(observeModule({ deviceId: 'edge1', version: 'bench', roles: { hub: true, agent: false }, upstream: false, dataDir: '.' }));
      });
      without.push(await throughput(plain));
      await plain.close();

      const port = await freePort();
      let dataDir = '';
      const dashboard = await routedPath(async (container, dir) => {
        dataDir = dir;
        container.load(observeModule({ deviceId: 'edge1', version: 'bench', roles: { hub: true, agent: false }, upstream: false, dataDir: dir, dashboard: { enabled: true, host: '127.0.0.1', port } }));
      });
      const token = await ensureDashboardToken(dashboardTokenPath(dataDir));
      const page = await browser.context.newPage();
      await page.goto(`http://127.0.0.1:${port}/#token=${token}`);
      await page.getByRole('status').filter({ hasText: 'live' }).waitFor({ timeout: 30_000 });
      withDashboard.push(await throughput(dashboard));
      await page.close();
      await dashboard.close();
      console.log(`dashboard round ${round}: without ${without.at(-1)!.toFixed(0)} msg/s, with dashboard and a browser on the overview ${withDashboard.at(-1)!.toFixed(0)} msg/s`);
    }
  } finally {
    await browser.close();
  }
  const a = median(without);
  const b = median(withDashboard);
  console.log(`dashboard cost = ${(((a - b) / a) * 100).toFixed(1)}% (routed ${a.toFixed(0)} msg/s without, ${b.toFixed(0)} msg/s with the dashboard and one browser on its overview; medians of ${rounds} rounds)`);
}
