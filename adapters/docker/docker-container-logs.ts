import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { LogLine, LogOptions } from '../../application/ports/module-runtime.js';
import { DockerLogDemux } from './docker-log-demux.js';

/**
 * A container's output as `LogLine`s, oldest first: `GET /containers/{id}/logs` with timestamps,
 * demultiplexed (raw output for `Tty` containers); `since`/`until` also applied per line (ms
 * precision, `until` exclusive); `follow` continues until the container stops or `signal` aborts.
 */
export async function* containerLogs(docker: Docker, info: Docker.ContainerInspectInfo, options: LogOptions = {}): AsyncIterable<LogLine> {
  const { since, until, tail } = options;
  if (tail !== undefined && tail <= 0 && options.follow !== true) return;
  const follow = options.follow === true;
  const query: Record<string, unknown> = { stdout: true, stderr: true, timestamps: true, follow };
  if (tail !== undefined) query['tail'] = Math.max(0, tail);
  if (since !== undefined) query['since'] = (since / 1000).toFixed(3);
  if (until !== undefined && !follow) query['until'] = (until / 1000).toFixed(3);
  const raw: unknown = await docker.getContainer(info.Id).logs(query as unknown as Docker.ContainerLogsOptions & { follow: true });
  const queue: LogLine[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const demux = new DockerLogDemux(!info.Config.Tty, (line) => {
    queue.push(line);
  });
  const notify = (): void => {
    wake?.();
  };
  let stream: Readable | undefined;
  if (Buffer.isBuffer(raw)) {
    demux.push(raw);
    demux.flush();
    ended = true;
  } else {
    stream = raw as Readable;
    stream.on('data', (chunk: Buffer) => {
      demux.push(chunk);
      notify();
    });
    const end = (): void => {
      demux.flush();
      ended = true;
      notify();
    };
    stream.once('end', end);
    stream.once('close', end);
    stream.once('error', end);
  }
  const onAbort = (): void => {
    stream?.destroy();
    ended = true;
    notify();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        if (since !== undefined && next.time < since) continue;
        if (until !== undefined && next.time >= until) return;
        yield next;
        continue;
      }
      if (ended || options.signal?.aborted === true) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    stream?.destroy();
  }
}
