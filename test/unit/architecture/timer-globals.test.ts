import assert from 'node:assert/strict';
import { dirname, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TempTrees } from '../../support/temp-tree.js';
import { findTimerUses, formatTimerUse, timerUsesIn } from '../../support/timer-globals.js';

// This file compiles to dist/test/unit/architecture/: the repository root is four levels up.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const PURE_LAYERS = ['dist/domain', 'dist/application'];

const trees = new TempTrees();
after(() => trees.removeAll());

describe('timer rule: domain/ and application/ take time only from the Clock port', () => {
  test('the real compiled domain/ and application/ use no timer globals and read no clock', async () => {
    const uses = await findTimerUses(ROOT, PURE_LAYERS);
    assert.deepEqual(uses.map(formatTimerUse), []);
    // The scan saw the code (a wrong path would pass vacuously).
    assert.ok((await findTimerUses(ROOT, ['dist/adapters/clock'])).some((u) => u.what === 'setTimeout'), 'the system clock adapter is where setTimeout lives');
  });

  test('a setTimeout planted in application/ fails the rule, with file, line and column', async () => {
    const dir = await trees.create('edgeport-timers-', {
      'dist/application/hub/clean.js': "import { Clock } from '../ports/clock.js';\nexport const wait = (clock) => clock.schedule(10, () => undefined);\n",
      'dist/application/hub/planted.js': 'export function later(f) {\n  return setTimeout(f, 10);\n}\n',
      'dist/domain/ok.js': 'export const x = 1;\n',
    });
    const uses = await findTimerUses(dir, PURE_LAYERS);
    assert.deepEqual(uses, [{ file: 'dist/application/hub/planted.js', line: 2, column: 10, what: 'setTimeout' }]);
    assert.match(formatTimerUse(uses[0]!), /planted\.js:2:10 uses setTimeout: .*Clock port/);
  });

  test('every way to reach a timer or the wall clock is found', () => {
    const source = [
      'setImmediate(run);',
      'const t = setInterval(run, 5); clearInterval(t);',
      'globalThis.setTimeout(run, 1);',
      "globalThis['clearImmediate'](x);",
      'const { setTimeout: st } = globalThis; const f = { setImmediate };',
      'const now = Date.now(); const p = performance.now(); const d = new Date(); const s = Date();',
    ].join('\n');
    const found = timerUsesIn(source, 'x.js').map((u) => `${u.line}:${u.what}`);
    assert.deepEqual(found, ['1:setImmediate', '2:setInterval', '2:clearInterval', '3:globalThis.setTimeout', '4:globalThis.clearImmediate', '5:setImmediate', '6:Date.now()', '6:performance.now()', '6:new Date()', '6:Date()']);
  });

  test('comments, strings, property names and formatting a given time do not count', () => {
    const source = [
      '// setTimeout(run) in a comment; /* setImmediate */',
      "const text = 'setTimeout(x)'; const tpl = `clearTimeout`;",
      'clock.setTimeout(run); clock.schedule(1, run); const o = { setImmediate: 1, setTimeout() {} };',
      'class C { setInterval() {} clearTimeout = 1 }',
      'const d = new Date(1700000000000).toISOString(); const n = Date.parse(d);',
    ].join('\n');
    assert.deepEqual(timerUsesIn(source, 'x.js'), []);
  });
});
