import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerLogDemux, parseDockerTime } from '../../../adapters/docker/docker-log-demux.js';
import type { LogLine } from '../../../application/ports/module-runtime.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

test('docker log demux: frames split anywhere, lines split across frames, stderr kept apart', () => {
  const lines: LogLine[] = [];
  const demux = new DockerLogDemux(true, (l) => lines.push(l));
  const bytes = Buffer.concat([
    frame(1, '2026-11-26T08:00:00.123456789Z hello wö'),
    frame(1, 'rld\n2026-11-26T08:00:01.000000001Z second\r\n'),
    frame(2, '2026-11-26T08:00:02.5Z oops\n'),
    frame(1, '2026-11-26T08:00:03Z no newline'),
  ]);
  for (let i = 0; i < bytes.length; i += 5) demux.push(bytes.subarray(i, i + 5));
  demux.flush();
  assert.deepEqual(lines, [
    { time: Date.UTC(2026, 10, 26, 8, 0, 0, 123), stream: 'stdout', text: 'hello wörld' },
    { time: Date.UTC(2026, 10, 26, 8, 0, 1, 0), stream: 'stdout', text: 'second' },
    { time: Date.UTC(2026, 10, 26, 8, 0, 2, 500), stream: 'stderr', text: 'oops' },
    { time: Date.UTC(2026, 10, 26, 8, 0, 3, 0), stream: 'stdout', text: 'no newline' },
  ]);
});

test('docker log demux: TTY output is raw stdout; a line without a timestamp keeps its text', () => {
  const lines: LogLine[] = [];
  const demux = new DockerLogDemux(false, (l) => lines.push(l));
  demux.push(Buffer.from('2026-11-26T08:00:00Z a b\nplain'));
  demux.flush();
  assert.deepEqual(lines, [
    { time: Date.UTC(2026, 10, 26, 8), stream: 'stdout', text: 'a b' },
    { time: 0, stream: 'stdout', text: 'plain' },
  ]);
});

test('parseDockerTime: zero time and garbage are undefined', () => {
  assert.equal(parseDockerTime('0001-01-01T00:00:00Z'), undefined);
  assert.equal(parseDockerTime(''), undefined);
  assert.equal(parseDockerTime('soon'), undefined);
  assert.equal(parseDockerTime('2026-11-26T08:00:00.987654321Z'), Date.UTC(2026, 10, 26, 8, 0, 0, 987));
});

test('docker log demux: a character split between two frames (Docker cuts at 16 KiB) stays whole; nothing is held back', () => {
  const lines: LogLine[] = [];
  const demux = new DockerLogDemux(true, (l) => lines.push(l));
  const text = Buffer.from('2026-11-26T08:00:00Z grüße\n', 'utf8');
  const cut = text.indexOf(Buffer.from('ü')) + 1; // inside the two bytes of ü
  demux.push(Buffer.concat([frame(1, ''), frameBytes(1, text.subarray(0, cut)), frameBytes(1, text.subarray(cut))]));
  assert.deepEqual(lines, [{ time: Date.UTC(2026, 10, 26, 8), stream: 'stdout', text: 'grüße' }], 'emitted before push returned');
});

function frameBytes(stream: 1 | 2, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}
