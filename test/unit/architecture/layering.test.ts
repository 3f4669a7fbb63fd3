import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

// This file compiles to dist/test/unit/architecture/: the repository root is four levels up.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');
const LAYERS = ['dist/domain', 'dist/application', 'dist/adapters', 'dist/infrastructure'];

interface Run {
  code: number;
  output: string;
}

/** Runs the real depcruise binary with the project's config, in `cwd`, on the layer folders. */
async function depcruise(cwd: string, folders = LAYERS): Promise<Run> {
  return await new Promise((resolveRun) => {
    execFile(DEPCRUISE, ['--config', CONFIG, ...folders], { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolveRun({ code, output: `${stdout}\n${stderr}` });
    });
  });
}

const temps: string[] = [];
after(async () => {
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

/**
 * A throwaway project that mirrors the real layout: `dist/<layer>/...` files given as
 * `{ relativePath: source }`, the project's package.json and its node_modules (symlinked).
 */
async function fakeProject(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-layers-'));
  temps.push(dir);
  await cp(join(ROOT, 'package.json'), join(dir, 'package.json'));
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const layer of LAYERS) await mkdir(join(dir, layer), { recursive: true });
  for (const [path, source] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), source);
  }
  return dir;
}

/** A small tree that follows every rule. */
const CLEAN: Record<string, string> = {
  'dist/domain/messages/message.js': 'export class Message {}\n',
  'dist/domain/routing/parser.js': "import { Lexer } from 'chevrotain';\nimport { Message } from '../messages/message.js';\nexport const parser = { Lexer, Message };\n",
  'dist/application/ports/store.js': "import { Message } from '../../domain/messages/message.js';\nexport class Store { m = Message; }\n",
  'dist/application/hub/ingest.js': "import { injectable } from 'inversify';\nimport { Store } from '../ports/store.js';\nexport const ingest = { injectable, Store };\n",
  'dist/adapters/x/thing.js': "import { Store } from '../../application/ports/store.js';\nimport { readFile } from 'node:fs/promises';\nimport { helper } from './helper.js';\nexport class Thing extends Store { r = readFile; h = helper; }\n",
  'dist/adapters/x/helper.js': 'export const helper = 1;\n',
  'dist/adapters/y/other.js': "import { Store } from '../../application/ports/store.js';\nexport class Other extends Store {}\n",
  'dist/infrastructure/main.js': "import { Thing } from '../adapters/x/thing.js';\nimport { Other } from '../adapters/y/other.js';\nexport const all = [Thing, Other];\n",
};

function assertViolation(run: Run, rule: string, from: string): void {
  assert.notEqual(run.code, 0, `depcruise should fail:\n${run.output}`);
  const line = run.output.split('\n').find((l) => l.includes(rule) && l.includes(from));
  assert.ok(line, `expected a ${rule} violation from ${from} in:\n${run.output}`);
}

describe('layering rules (.dependency-cruiser.cjs)', () => {
  test('the real dist/ tree passes', async () => {
    const run = await depcruise(ROOT);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /no dependency violations found/);
  });

  test('a tree that follows the rules passes (chevrotain in domain/routing, inversify in application)', async () => {
    const run = await depcruise(await fakeProject(CLEAN));
    assert.equal(run.code, 0, run.output);
  });

  test('domain-is-pure: domain importing an adapter or a node: module fails', async () => {
    const dir = await fakeProject({
      ...CLEAN,
      'dist/domain/messages/bad-adapter.js': "import { Thing } from '../../adapters/x/thing.js';\nexport const t = Thing;\n",
      'dist/domain/messages/bad-fs.js': "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n",
      'dist/domain/twins/bad-builtin.js': "import { EventEmitter } from 'events';\nexport const e = EventEmitter;\n",
    });
    const run = await depcruise(dir);
    assertViolation(run, 'domain-is-pure', 'dist/domain/messages/bad-adapter.js');
    assertViolation(run, 'domain-is-pure', 'dist/domain/messages/bad-fs.js');
    assertViolation(run, 'domain-is-pure', 'dist/domain/twins/bad-builtin.js');
  });

  test('domain-is-pure: the chevrotain exception is only for domain/routing', async () => {
    const dir = await fakeProject({
      ...CLEAN,
      'dist/domain/twins/uses-chevrotain.js': "import { Lexer } from 'chevrotain';\nexport const l = Lexer;\n",
      'dist/domain/routing/uses-fs.js': "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n",
      'dist/domain/routing/uses-pino.js': "import { pino } from 'pino';\nexport const p = pino;\n",
    });
    const run = await depcruise(dir);
    assertViolation(run, 'domain-is-pure', 'dist/domain/twins/uses-chevrotain.js');
    assertViolation(run, 'domain-is-pure-routing-uses-chevrotain', 'dist/domain/routing/uses-fs.js');
    assertViolation(run, 'domain-is-pure-routing-uses-chevrotain', 'dist/domain/routing/uses-pino.js');
    assert.ok(!run.output.includes('dist/domain/routing/parser.js'), run.output);
  });

  test('application-imports-domain-only: core modules, other packages, adapters fail', async () => {
    const dir = await fakeProject({
      ...CLEAN,
      'dist/application/hub/bad-fs.js': "import { readFile } from 'node:fs/promises';\nexport const r = readFile;\n",
      'dist/application/hub/bad-pkg.js': "import { pino } from 'pino';\nexport const p = pino;\n",
      'dist/application/hub/bad-adapter.js': "import { Thing } from '../../adapters/x/thing.js';\nexport const t = Thing;\n",
      'dist/application/hub/bad-infra.js': "import { all } from '../../infrastructure/main.js';\nexport const a = all;\n",
    });
    const run = await depcruise(dir);
    for (const file of ['bad-fs', 'bad-pkg', 'bad-adapter', 'bad-infra']) {
      assertViolation(run, 'application-imports-domain-only', `dist/application/hub/${file}.js`);
    }
    assertViolation(run, 'only-infrastructure-imports-adapters', 'dist/application/hub/bad-adapter.js');
  });

  test('adapters-do-not-import-each-other: adapters/y importing adapters/x fails', async () => {
    const dir = await fakeProject({
      ...CLEAN,
      'dist/adapters/y/cross.js': "import { Thing } from '../x/thing.js';\nexport const t = Thing;\n",
    });
    const run = await depcruise(dir);
    assertViolation(run, 'adapters-do-not-import-each-other', 'dist/adapters/y/cross.js');
    // Imports within one family (x/thing.js -> x/helper.js) are fine.
    assert.ok(!run.output.includes('dist/adapters/x/thing.js →'), run.output);
  });

  test('not-to-unresolvable and no-circular', async () => {
    const dir = await fakeProject({
      ...CLEAN,
      'dist/domain/messages/missing.js': "import { nope } from './does-not-exist.js';\nexport const n = nope;\n",
      'dist/domain/twins/a.js': "import { b } from './b.js';\nexport const a = () => b;\n",
      'dist/domain/twins/b.js': "import { a } from './a.js';\nexport const b = () => a;\n",
    });
    const run = await depcruise(dir);
    assertViolation(run, 'not-to-unresolvable', 'dist/domain/messages/missing.js');
    assertViolation(run, 'no-circular', 'dist/domain/twins/a.js');
  });
});
