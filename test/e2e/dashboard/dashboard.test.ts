/**
 * The temperature example (`sensor` -> `filter`, official SDK modules, process runtime) running with
 * the dashboard on: Azure's metric names on /metrics with traffic flowing, the CLI views, and the
 * dashboard in a real headless chromium (Debian's, driven by playwright-core): overview, restart,
 * route counter, token refusals, nothing loaded from anywhere but the runtime.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { freePort } from '../../support/free-port.js';
import { BIN, REPO, eventually, exampleSetup, killLeftoverModules, modulesRunning, runExample, type ExampleRun } from '../../support/example/run-example.js';
import { launchBrowser, onlyOrigin, skipWithoutChromium, type Browser } from '../../support/dashboard/browser.js';

const CONFIG = 'examples/temperature/edgeport.toml';
const skipBrowser = skipWithoutChromium();

let run: ExampleRun;
let dataDir = '';
let metricsPort = 0;
let dashboardPort = 0;
let env: NodeJS.ProcessEnv = {};
/** What `edgeport dashboard` printed: `http://127.0.0.1:<port>/#token=<token>`. */
let dashboardUrl = '';
let origin = '';
let browser: Browser | undefined;

interface ModuleRow {
  name: string;
  status: string;
  restartCount: number;
}

function listModules(): ModuleRow[] {
  const list = run.cli(['list', '--json']);
  assert.equal(list.status, 0, list.stderr);
  return JSON.parse(list.stdout) as ModuleRow[];
}

async function scrape(): Promise<string> {
  return await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
}

/** The value of the first series of `name` whose labels include all of `labels`. */
function seriesValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

before(
  async () => {
    dashboardPort = await freePort();
    const setup = await exampleSetup('edgeport-dashboard-', { EDGEPORT_DASHBOARD_ENABLED: 'true', EDGEPORT_DASHBOARD_PORT: String(dashboardPort) });
    ({ dataDir, metricsPort, env } = setup);
    run = runExample(CONFIG, env);
    await run.running(60_000);
    await eventually('sensor and filter running', 60_000, () => modulesRunning(run, ['sensor', 'filter']), run.context);
    const printed = run.cli(['dashboard']);
    assert.equal(printed.status, 0, printed.stderr);
    dashboardUrl = printed.stdout.trim();
    origin = `http://127.0.0.1:${dashboardPort}`;
    if (skipBrowser === false) browser = await launchBrowser();
  },
  { timeout: 150_000 },
);

after(async () => {
  await browser?.close();
  await run?.stop();
  killLeftoverModules(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
});

test('/metrics carries Azure IoT Edge names and labels with traffic flowing, beside the edgeport_* series', { timeout: 60_000 }, async () => {
  const sent = { from: 'edgeport-device/sensor', to: 'edgeport-device/filter', from_route_output: 'temperature', to_route_input: 'input1', priority: 'default' };
  const text = await eventually('messages sent sensor -> filter', 30_000, async () => {
    const t = await scrape();
    return (seriesValue(t, 'edgehub_messages_sent_total', sent) ?? 0) > 0 ? t : undefined;
  }, run.context);
  const common = /iothub="edgeport\.local",edge_device="edgeport-device",instance_number="[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"/;
  for (const name of ['edgehub_messages_received_total', 'edgehub_messages_sent_total', 'edgehub_queue_length', 'edgehub_connected_clients', 'edgeAgent_used_memory_bytes', 'edgeAgent_total_time_running_correctly_seconds']) {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
    assert.ok(line !== undefined, `${name} is exposed`);
    assert.match(line, common, `${name} has the common labels`);
  }
  // One scrape, so both names count the same deliveries.
  assert.equal(seriesValue(text, 'edgehub_messages_sent_total', sent), seriesValue(text, 'edgeport_messages_sent_total', { endpoint: 'filter/input1' }));
  assert.ok((seriesValue(text, 'edgehub_messages_received_total', { route_output: 'temperature', id: 'edgeport-device/sensor' }) ?? 0) > 0);
  assert.ok(seriesValue(text, 'edgehub_queue_length', { endpoint: 'filter/input1', priority: 'default' }) !== undefined, 'priority by name, not 2000000000');
  assert.doesNotMatch(text, /^edgehub_[a-z_]+\{[^}]*priority="2000000000"/m);
  assert.ok((seriesValue(text, 'edgehub_message_process_duration_seconds_count', { from: 'edgeport-device/sensor', to: 'edgeport-device/filter', priority: 'default' }) ?? 0) > 0);
  assert.match(text, /# TYPE edgehub_message_process_duration_seconds summary/);
  assert.ok((seriesValue(text, 'edgehub_connected_clients', {}) ?? 0) >= 2, 'sensor and filter connected');
  assert.ok((seriesValue(text, 'edgeAgent_used_memory_bytes', { module_name: 'edgeAgent' }) ?? 0) > 10_000_000);
  assert.ok((seriesValue(text, 'edgeAgent_module_start_total', { module_name: 'sensor', module_version: '1.0' }) ?? 0) >= 1);
  assert.ok((seriesValue(text, 'edgehub_client_connect_success_total', { id: 'edgeport-device/sensor' }) ?? 0) >= 1);
});

test('CLI views: status, routes, queues, clients, twin show, each with --json; --watch redraws', { timeout: 60_000 }, async () => {
  const status = run.cli(['status']);
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /^edgeport \S+ on edgeport-device: up /);
  assert.match(status.stdout, /deployment: version 1, status 200/);
  assert.match(status.stdout, /^sensor +running +\d/m);
  assert.match(status.stdout, /^filter +running +\d/m);
  assert.match(status.stdout, /^filter\/input1 +default +\d+/m);
  const json = JSON.parse(run.cli(['status', '--json']).stdout) as { modules: ModuleRow[]; routes: unknown[] };
  assert.ok(json.modules.some((m) => m.name === 'sensor' && m.status === 'running'));

  const routes = await eventually('sensorToFilter counting', 20_000, () => {
    const r = run.cli(['routes']);
    return /^sensorToFilter +default +[1-9]\d* +/m.test(r.stdout) ? r.stdout : undefined;
  }, run.context);
  assert.match(routes, /^filterToUpstream +default +\d+ +[\d.]+ +FROM \/messages\/modules\/filter\/outputs\/alerts INTO \$upstream$/m);
  const queues = JSON.parse(run.cli(['queues', '--json']).stdout) as { queues: Array<{ endpoint: string; outTotal: number }> };
  assert.ok((queues.queues.find((q) => q.endpoint === 'filter/input1')?.outTotal ?? 0) > 0);
  const clients = run.cli(['clients']);
  assert.match(clients.stdout, /^edgeport-device\/sensor +mqtt +\d/m);
  const twin = JSON.parse(run.cli(['twin', 'show', 'edgeport-device/sensor', '--json']).stdout) as { desired: Record<string, unknown> };
  assert.equal(twin.desired['interval'], 1000);
  assert.match(run.cli(['twin', 'show', 'edgeport-device/filter']).stdout, /^twin edgeport-device\/filter\ndesired:\n\{\n {2}"threshold": 25,/);
  const bad = run.cli(['twin', 'show', 'a/b/c']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /<deviceId> or <deviceId>\/<moduleId>/);

  // --watch: two frames, each starting with a clear-screen, then Ctrl-C.
  const watch = spawn(process.execPath, [BIN, 'queues', '--watch', '--interval', '0.5', '--config', CONFIG], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  watch.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  try {
    await eventually('two --watch frames', 20_000, () => ((output.match(/\u001b\[H\u001b\[2J/g) ?? []).length >= 2 ? true : undefined), () => output);
    assert.match(output, /ENDPOINT +PRIORITY +DEPTH/);
  } finally {
    watch.kill('SIGINT');
  }
  // `edgeport dashboard`: the URL with the token of the 0600 file.
  const token = readFileSync(`${dataDir}/dashboard/token`, 'utf8').trim();
  assert.equal(dashboardUrl, `http://127.0.0.1:${dashboardPort}/#token=${token}`);
});

/** Opens the dashboard with the printed URL, allowing no origin but the runtime's. */
async function openDashboard(): Promise<{ page: Page; requested: string[] }> {
  const page = await browser!.context.newPage();
  const requested = await onlyOrigin(page, origin);
  await page.goto(dashboardUrl);
  await page.getByRole('status').filter({ hasText: 'live' }).waitFor({ timeout: 20_000 });
  return { page, requested };
}

test('browser: the overview shows both modules running and a queue rate above zero, with JavaScript from the runtime only', { skip: skipBrowser, timeout: 90_000 }, async () => {
  const { page, requested } = await openDashboard();
  try {
    // The token left the address (and so the history) once it became the session cookie.
    assert.equal(page.url(), `${origin}/#/`);
    const modules = page.getByRole('table', { name: 'Modules' });
    for (const name of ['sensor', 'filter']) {
      await modules.getByRole('row', { name: new RegExp(`^${name} running`) }).waitFor({ timeout: 20_000 });
    }
    const queueRow = page.getByRole('table', { name: 'Queues' }).getByRole('row', { name: /filter\/input1/ });
    const rate = await eventually('a queue rate above zero', 30_000, async () => {
      const text = await queueRow.locator('.rate-in').textContent();
      return Number(text) > 0 ? Number(text) : undefined;
    }, run.context);
    assert.ok(rate > 0);
    assert.ok(requested.length >= 3, requested.join('\n'));
    assert.deepEqual(requested.filter((url) => new URL(url).origin !== origin), [], 'nothing requested from another origin');
    assert.ok(requested.some((url) => /\/assets\/.+\.js$/.test(url)), 'the script came from the runtime');
    // Keyboard: the pages are links in the navigation, reachable with Tab.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Overview');
  } finally {
    await page.close();
  }
});

test("browser: the route page's counter increases while the sensor sends", { skip: skipBrowser, timeout: 90_000 }, async () => {
  const { page } = await openDashboard();
  try {
    await page.getByRole('link', { name: 'Routes' }).click();
    const total = page.getByRole('table', { name: 'Routes' }).getByRole('row', { name: /^sensorToFilter/ }).locator('.total');
    const first = Number(await total.textContent());
    const later = await eventually('the sensorToFilter counter to grow', 20_000, async () => {
      const n = Number(await total.textContent());
      return n > first ? n : undefined;
    }, run.context);
    assert.ok(later > first, `${first} -> ${later}`);
  } finally {
    await page.close();
  }
});

test('browser: Restart on filter restarts it (restart count + 1 in edgeport list --json)', { skip: skipBrowser, timeout: 90_000 }, async () => {
  const before = listModules().find((m) => m.name === 'filter')!;
  const { page } = await openDashboard();
  try {
    await page.getByRole('link', { name: 'Modules' }).click();
    await page.getByRole('button', { name: 'Restart filter' }).click();
    await page.getByRole('status').filter({ hasText: 'filter: restart done' }).waitFor({ timeout: 30_000 });
    const after = await eventually('filter restarted and running', 30_000, () => listModules().find((m) => m.name === 'filter' && m.status === 'running' && m.restartCount === before.restartCount + 1), run.context);
    assert.equal(after.restartCount, before.restartCount + 1);
  } finally {
    await page.close();
  }
});

test("browser: a module twin's desired properties edited in standalone mode reach the module; a direct method answers", { skip: skipBrowser, timeout: 90_000 }, async () => {
  const { page } = await openDashboard();
  try {
    await page.getByRole('link', { name: 'Twins' }).click();
    await page.getByLabel('Twin').selectOption('edgeport-device/sensor');
    await page.getByLabel(/Desired properties patch/).fill('{"interval": 500}');
    await page.getByRole('button', { name: 'Save desired properties' }).click();
    await page.getByRole('status').filter({ hasText: /desired properties of edgeport-device\/sensor saved/ }).waitFor({ timeout: 20_000 });
    const twin = JSON.parse(run.cli(['twin', 'show', 'edgeport-device/sensor', '--json']).stdout) as { desired: Record<string, unknown> };
    assert.equal(twin.desired['interval'], 500);
    // The sensor (official SDK) got the patch and says so in its log.
    await eventually('the sensor applying interval 500', 20_000, () => (readFileSync(`${dataDir}/modules/sensor.log`, 'utf8').includes('interval set to 500 ms by the module twin') ? true : undefined), run.context);

    await page.getByRole('link', { name: 'Methods and messages' }).click();
    await page.getByLabel(/Device or module/).fill('edgeport-device/$edgeAgent');
    await page.getByLabel('Method name').fill('ping');
    await page.getByRole('button', { name: 'Invoke' }).click();
    await page.getByRole('status').filter({ hasText: /^status 200/ }).waitFor({ timeout: 20_000 });
  } finally {
    await page.close();
  }
});

test('a wrong or missing token gets 401 and no data, in the API and in the browser', { timeout: 60_000 }, async () => {
  for (const headers of [{}, { authorization: 'Bearer not-the-token' }] as Array<Record<string, string>>) {
    const response = await fetch(`${origin}/api/status`, { headers });
    assert.equal(response.status, 401);
    assert.doesNotMatch(await response.text(), /sensor|filter|edgeport-device/);
  }
  const session = await fetch(`${origin}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'wrong' }) });
  assert.equal(session.status, 401);
  if (browser === undefined) return;
  // No session of the earlier tests: this browser has only the wrong token.
  await browser.context.clearCookies();
  const page = await browser.context.newPage();
  try {
    const statuses: number[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/api/')) statuses.push(r.status());
    });
    await page.goto(`${origin}/#token=${'A'.repeat(43)}`);
    await page.getByRole('alert').filter({ hasText: 'Not signed in' }).waitFor({ timeout: 20_000 });
    assert.ok(statuses.includes(401), statuses.join(','));
    assert.doesNotMatch(await page.content(), /sensor|filter\/input1/);
  } finally {
    await page.close();
  }
});
