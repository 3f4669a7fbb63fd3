import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONFIG_LEAVES } from '../../../infrastructure/config/env-overrides.js';
import { loadConfig } from '../../../infrastructure/config/load-config.js';

const root = new URL('../../../../', import.meta.url);

test('docs/configuration.md documents every key with its environment variable', () => {
  const docs = readFileSync(new URL('docs/configuration.md', root), 'utf8');
  for (const leaf of CONFIG_LEAVES) {
    const row = docs.split('\n').find((line) => line.startsWith(`| \`${leaf.path.join('.')}\` |`));
    assert.ok(row, `docs/configuration.md has no row for ${leaf.path.join('.')}`);
    assert.ok(row.includes(`\`${leaf.env}\``), `row for ${leaf.path.join('.')} does not name ${leaf.env}`);
  }
});

test('examples/edgeport.toml is valid and sets every key to its default', () => {
  const file = new URL('examples/edgeport.toml', root).pathname;
  const fromExample = loadConfig({ file, env: {}, cwd: '/srv' });
  const defaults = loadConfig({ env: {}, cwd: '/srv' });
  assert.deepEqual({ ...fromExample, source: null }, { ...defaults, source: null });
  const text = readFileSync(file, 'utf8');
  for (const leaf of CONFIG_LEAVES) assert.match(text, new RegExp(`^${leaf.path[leaf.path.length - 1]} = `, 'm'), `example lacks ${leaf.path.join('.')}`);
});
