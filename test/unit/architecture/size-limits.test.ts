import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'acorn';
import { full } from 'acorn-walk';

// This file compiles to dist/test/unit/architecture/: the repository root is four levels up.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** Longest source file of domain/, application/ and adapters/ that needs no stated reason. */
const MAX_FILE_LINES = 450;
/** How a long file states why, in its first lines. */
const REASON = /Why this file is long:/;
/** Longest function (compiled) in the parts most often changed: the hub's use cases and the IoT Hub upstream. */
const MAX_FUNCTION_LINES = 60;
const FUNCTION_LIMITED = ['dist/application/hub', 'dist/adapters/iothub'];

/**
 * Files being split on other branches of issue #18 (remove an entry when its split lands: the test
 * then holds the new files to the limit).
 */
const SPLIT_IN_PROGRESS: Readonly<Record<string, string>> = {
};

async function filesUnder(dir: string, suffix: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(suffix) && !e.name.endsWith('.d.ts')).map((e) => relative(ROOT, join(e.parentPath, e.name))).sort();
}

describe('size limits: the biggest parts stay easy to change', () => {
  test(`source files of domain/, application/, adapters/ have at most ${MAX_FILE_LINES} lines or say why at their top`, async () => {
    const tooLong: string[] = [];
    let checked = 0;
    for (const layer of ['domain', 'application', 'adapters']) {
      for (const file of await filesUnder(layer, '.ts')) {
        checked++;
        const lines = (await readFile(join(ROOT, file), 'utf8')).split('\n');
        const count = lines.length - (lines.at(-1) === '' ? 1 : 0);
        if (count <= MAX_FILE_LINES || file in SPLIT_IN_PROGRESS) continue;
        if (!lines.slice(0, 15).some((line) => REASON.test(line))) tooLong.push(`${file}: ${count} lines and no "Why this file is long:" in its first 15 lines`);
      }
    }
    assert.ok(checked > 100, `scanned ${checked} files`);
    assert.deepEqual(tooLong, []);
  });

  test('files on the split-in-progress list are still long (remove them from the list once split)', async () => {
    for (const file of Object.keys(SPLIT_IN_PROGRESS)) {
      let count = 0;
      try {
        count = (await readFile(join(ROOT, file), 'utf8')).split('\n').length;
      } catch {
        count = 0;
      }
      assert.ok(count > MAX_FILE_LINES, `${file} has ${count} lines now: remove it from SPLIT_IN_PROGRESS`);
    }
  });

  test(`functions of ${FUNCTION_LIMITED.join(', ')} have at most ${MAX_FUNCTION_LINES} lines`, async () => {
    const tooLong: string[] = [];
    let functions = 0;
    for (const dir of FUNCTION_LIMITED) {
      for (const file of await filesUnder(dir, '.js')) {
        const ast = parse(await readFile(join(ROOT, file), 'utf8'), { ecmaVersion: 'latest', sourceType: 'module', locations: true });
        full(ast, (node) => {
          if (!node.type.includes('Function') || node.loc == null) return;
          functions++;
          const lines = node.loc.end.line - node.loc.start.line + 1;
          if (lines > MAX_FUNCTION_LINES) tooLong.push(`${file}:${node.loc.start.line}: a function of ${lines} lines`);
        });
      }
    }
    assert.ok(functions > 100, `scanned ${functions} functions`);
    assert.deepEqual(tooLong, []);
  });
});
