import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`; `.ci/run` installs it when absent). */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/**
 * `skip` option for the browser tests: false when chromium is installed; a reason when it is absent
 * and `EDGEPORT_REQUIRE_SERVICES` is unset; a throw when it is absent and required (CI).
 */
export function skipWithoutChromium(): false | string {
  if (existsSync(CHROMIUM)) return false;
  if (process.env['EDGEPORT_REQUIRE_SERVICES']) throw new Error(`chromium is required (EDGEPORT_REQUIRE_SERVICES is set) but ${CHROMIUM} does not exist: apt-get install chromium`);
  return `${CHROMIUM} absent and EDGEPORT_REQUIRE_SERVICES unset`;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless chromium with a new, empty profile; nothing of it talks to the network on its own. */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'edgeport-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Lets only requests to `origin` through (every other one is aborted) and records every URL the
 * page asked for, so a test can show the page needs nothing but the runtime.
 */
export async function onlyOrigin(page: Page, origin: string): Promise<string[]> {
  const requested: string[] = [];
  await page.route('**/*', async (route) => {
    const url = route.request().url();
    requested.push(url);
    if (new URL(url).origin === origin) await route.continue();
    else await route.abort('blockedbyclient');
  });
  return requested;
}
