/**
 * Module customization hooks that record what a process loads. `recordImportsFlag(file)` gives the
 * `--import` argument that registers them: every module URL the ES module loader loads (our files and
 * each package's entry, also CommonJS ones imported from ES modules) is appended to `file`, one a line.
 * The hooks run on their own thread and write synchronously, so the file is complete at exit.
 */
import { appendFileSync } from 'node:fs';
import type { InitializeHook, LoadHook } from 'node:module';

let file = '';

export const initialize: InitializeHook<string> = (data) => {
  file = data;
};

export const load: LoadHook = (url, context, nextLoad) => {
  appendFileSync(file, `${url}\n`);
  return nextLoad(url, context);
};

/** The `node --import <flag>` value (a data: URL) that records every loaded module to `file`. */
export function recordImportsFlag(file: string): string {
  const source = `import { register } from 'node:module'; register(${JSON.stringify(import.meta.url)}, { data: ${JSON.stringify(file)} });`;
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

/** The npm packages among recorded module URLs (`.../node_modules/<name>/...`, scoped names too), sorted. */
export function packagesIn(urls: readonly string[]): string[] {
  const names = new Set<string>();
  for (const url of urls) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match?.[1] !== undefined) names.add(match[1]);
  }
  return [...names].sort();
}
