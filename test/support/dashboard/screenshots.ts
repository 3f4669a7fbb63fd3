/**
 * `npm run dashboard:screenshots`: runs the temperature example with the dashboard on, opens every
 * page in headless chromium and writes `docs/img/dashboard-<page>.png` (the README shows the overview).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../free-port.js';
import { REPO, eventually, exampleSetup, killLeftoverModules, modulesRunning, runExample } from '../example/run-example.js';
import { launchBrowser } from './browser.js';

const PAGES = ['overview', 'modules', 'routes', 'queues', 'clients', 'twins', 'send'] as const;

async function main(): Promise<void> {
  const port = await freePort();
  const { dataDir, env } = await exampleSetup('edgeport-screenshots-', { EDGEPORT_DASHBOARD_ENABLED: 'true', EDGEPORT_DASHBOARD_PORT: String(port) });
  const run = runExample('examples/temperature/edgeport.toml', env);
  const browser = await launchBrowser();
  try {
    await run.running(60_000);
    await eventually('sensor and filter running', 60_000, () => modulesRunning(run, ['sensor', 'filter']), run.context);
    // A minute of traffic fills the sparklines.
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    const url = run.cli(['dashboard']).stdout.trim();
    const page = await browser.context.newPage();
    await page.goto(url);
    await page.getByRole('status').filter({ hasText: 'live' }).waitFor({ timeout: 20_000 });
    for (const name of PAGES) {
      await page.goto(`http://127.0.0.1:${port}/#/${name === 'overview' ? '' : name}`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      if (name === 'modules') {
        await page.getByRole('button', { name: 'Logs of sensor' }).click();
        await page.getByRole('log').getByText('sensor connected').waitFor({ timeout: 10_000 });
      }
      if (name === 'twins') {
        await page.getByLabel('Twin').selectOption('edgeport-device/sensor');
        await page.getByRole('heading', { name: 'Reported' }).waitFor();
      }
      await page.waitForTimeout(1500);
      const file = join(REPO, 'docs', 'img', `dashboard-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      process.stdout.write(`${file}\n`);
    }
  } finally {
    await browser.close();
    await run.stop();
    killLeftoverModules(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
