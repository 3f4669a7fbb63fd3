import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { RotatingLogFile } from '../../../../infrastructure/logging/rotating-log-file.js';

// /dev/full answers every write with ENOSPC, as a full data directory does.
test('log file on a full disk: lines are dropped, the logging code never sees the error', { skip: !existsSync('/dev/full') && 'no /dev/full' }, () => {
  const file = new RotatingLogFile('/dev/full', 10_000_000);
  const stderr = process.stderr.write;
  const said: string[] = [];
  process.stderr.write = ((chunk: string) => said.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    for (let i = 0; i < 3; i++) assert.doesNotThrow(() => file.write('{"msg":"x"}\n'));
  } finally {
    process.stderr.write = stderr;
  }
  assert.equal(said.length, 1, 'said once');
  assert.match(said[0]!, /cannot write the log file \/dev\/full \(ENOSPC\)/);
});
