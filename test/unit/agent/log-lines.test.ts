import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter, MAX_LOG_LINE_LENGTH } from '../../../domain/modules/log-lines.js';

test('line splitter: lines across chunks, CRLF, partial line kept until flush, emitted synchronously', () => {
  const lines: string[] = [];
  const splitter = new LineSplitter((l) => lines.push(l));
  splitter.push('one\r\ntw');
  assert.deepEqual(lines, ['one']);
  splitter.push('o\n\nthree');
  assert.deepEqual(lines, ['one', 'two', '']);
  splitter.flush();
  splitter.flush();
  assert.deepEqual(lines, ['one', 'two', '', 'three']);
});

test('line splitter: lines longer than the maximum are cut into pieces (default 16 KiB, like Docker)', () => {
  const lines: string[] = [];
  const splitter = new LineSplitter((l) => lines.push(l), 4);
  splitter.push('abcdefghij\nxy');
  splitter.push('zw12345');
  assert.deepEqual(lines, ['abcd', 'efgh', 'ij', 'xyzw', '1234']);
  splitter.flush();
  assert.deepEqual(lines.slice(5), ['5']);
  const big: string[] = [];
  const standard = new LineSplitter((l) => big.push(l));
  standard.push(`${'x'.repeat(MAX_LOG_LINE_LENGTH + 1)}\n`);
  assert.deepEqual(big.map((l) => l.length), [MAX_LOG_LINE_LENGTH, 1]);
  const unbounded: string[] = [];
  new LineSplitter((l) => unbounded.push(l), Number.POSITIVE_INFINITY).push(`${'y'.repeat(40_000)}\n`);
  assert.deepEqual(unbounded.map((l) => l.length), [40_000]);
});
