import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// This file compiles to dist/test/unit/architecture/: the repository root is four levels up.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/**
 * Lines of `text` that look like an unresolved merge: `<<<<<<< x` / `>>>>>>> x` anywhere, and a bare
 * `=======` only between an opening and a closing marker (a Markdown setext underline is not one).
 */
export function conflictMarkers(text: string): number[] {
  const found: number[] = [];
  let open = false;
  text.split('\n').forEach((line, index) => {
    if (/^<{7}( |$)/.test(line)) {
      open = true;
      found.push(index + 1);
    } else if (/^>{7}( |$)/.test(line)) {
      open = false;
      found.push(index + 1);
    } else if (open && /^={7}$/.test(line)) {
      found.push(index + 1);
    }
  });
  return found;
}

test('the marker finder sees a planted conflict and ignores a setext underline', () => {
  assert.deepEqual(conflictMarkers('a\n<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> branch\n'), [2, 4, 6]);
  assert.deepEqual(conflictMarkers('Title\n=======\ntext\n'), []);
});

test('no tracked text file holds merge-conflict markers', () => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\0')
    .filter((f) => f !== '' && !f.endsWith('package-lock.json'));
  assert.ok(files.length > 50, `git ls-files listed only ${files.length} files`);
  const offenders: string[] = [];
  for (const file of files) {
    let content: Buffer;
    try {
      content = readFileSync(join(ROOT, file));
    } catch {
      continue; // deleted in the work tree but still in the index
    }
    if (content.includes(0)) continue; // binary
    const lines = conflictMarkers(content.toString('utf8'));
    if (lines.length > 0) offenders.push(`${file}: lines ${lines.join(', ')}`);
  }
  assert.deepEqual(offenders, [], `merge-conflict markers committed:\n${offenders.join('\n')}`);
});
