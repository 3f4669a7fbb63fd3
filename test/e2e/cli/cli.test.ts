import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../support/free-port.js';

const BIN = fileURLToPath(new URL('../../../infrastructure/cli/bin.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Environment without any inherited EDGEPORT_* variable, so the host's settings never leak in. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDGEPORT_')) env[k] = v;
  return { ...env, EDGEPORT_LOG_FORMAT: 'json', EDGEPORT_AGENT_RUNTIME: 'process', ...extra };
}

function edgeport(args: string[], cwd: string, env: NodeJS.ProcessEnv = cleanEnv()) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd, env, encoding: 'utf8', timeout: 30_000 });
}

async function inTempDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeport-cli-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Running {
  lines: Array<Record<string, unknown>>;
  waitFor(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  kill(signal: NodeJS.Signals): number;
  stderr(): string;
}

const children = new Set<import('node:child_process').ChildProcess>();
// Children started detached are killed by process group, so their own children go too.
after(() => {
  for (const child of children) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
});

function start(args: string[], cwd: string, env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let buffer = '';
  let stderr = '';
  let killedAt = 0;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      lines.push(JSON.parse(text) as Record<string, unknown>);
      for (const waiter of [...waiters]) waiter();
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - killedAt })),
  );
  return {
    lines,
    exit,
    stderr: () => stderr,
    kill(signal) {
      killedAt = Date.now();
      child.kill(signal);
      return killedAt;
    },
    waitFor(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = lines.find(predicate);
          if (found) {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(check), 1);
            resolve(found);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => reject(new Error(`timed out; lines so far:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr: ${stderr}`)), timeoutMs);
        if (!check()) waiters.push(check);
        void exit.then(() => check() || reject(new Error(`process exited; stderr: ${stderr}\nlines: ${lines.map((l) => JSON.stringify(l)).join('\n')}`)));
      });
    },
  };
}

test('version and help', async () => {
  await inTempDir((dir) => {
    const version = edgeport(['version'], dir);
    assert.equal(version.status, 0);
    assert.equal(version.stdout, `edgeport ${VERSION}\n`);
    for (const args of [['--help'], ['run', '--help'], ['config', 'check', '--help'], ['cert', 'ca-path', '--help'], ['version', '--help']]) {
      const help = edgeport(args, dir);
      assert.equal(help.status, 0, `${args.join(' ')}: ${help.stderr}`);
      assert.match(help.stdout, /^Usage: edgeport/m, args.join(' '));
    }
  });
});

test('config check lists every problem of a file with three mistakes and exits 2', async () => {
  await inTempDir((dir) => {
    writeFileSync(join(dir, 'bad.toml'), '[hub.mqtt]\nport = "abc"\nprot = 1\n[storage]\nkind = "mysql"\n');
    const result = edgeport(['config', 'check', 'bad.toml'], dir);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /3 configuration problems in .*bad\.toml/);
    assert.match(result.stderr, /hub\.mqtt\.port: expected an integer 1-65535, got "abc"/);
    assert.match(result.stderr, /hub\.mqtt\.prot: unknown key/);
    assert.match(result.stderr, /storage\.kind: expected one of "sqlite", "postgres", got "mysql"/);

    const ok = edgeport(['config', 'check'], dir);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, 'configuration OK: built-in defaults (no file) with EDGEPORT_LOG_FORMAT, EDGEPORT_AGENT_RUNTIME\n');
  });
});

test('run on the embedded defaults: listens, creates certificates, exits 0 on SIGINT within 10 s; secrets never logged', async () => {
  await inTempDir(async (dir) => {
    const metricsPort = await freePort();
    const secretKey = 'c2VjcmV0LWtleS1kby1ub3QtbG9n';
    const env = cleanEnv({
      EDGEPORT_METRICS_PORT: String(metricsPort),
      EDGEPORT_METRICS_HOST: '127.0.0.1',
      // HTTPS (443) and AMQP (5671) defaults: another test's runtime may hold them.
      EDGEPORT_HUB_HTTPS_PORT: String(await freePort()),
      EDGEPORT_HUB_AMQP_PORT: String(await freePort()),
      EDGEPORT_LOG_LEVEL: 'debug',
      EDGEPORT_UPSTREAM_CONNECTION_STRING: `HostName=hub.example;DeviceId=gw;SharedAccessKey=${secretKey}`,
    });
    const first = start(['run'], dir, env);
    await first.waitFor((l) => String(l['msg']).startsWith('edgeport running'));
    const listening = first.lines.find((l) => l['msg'] === `metrics listening on http://127.0.0.1:${metricsPort}`);
    assert.ok(listening, 'logs what listens where');
    assert.equal(listening['setting'], 'metrics.port');
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/health`)).status, 200);
    assert.ok(existsSync(join(dir, 'data', 'certs')), 'certificates under ./data/certs');
    assert.ok(first.lines.some((l) => l['msg'] === 'edge CA and server certificate created'));

    first.kill('SIGINT');
    const exited = await first.exit;
    assert.equal(exited.code, 0, first.stderr());
    assert.ok(exited.ms < 10_000, `stopped in ${exited.ms} ms`);
    assert.ok(first.lines.some((l) => l['msg'] === 'edgeport stopped'));
    const everything = JSON.stringify(first.lines) + first.stderr();
    assert.ok(!everything.includes(secretKey), 'the SharedAccessKey must never be logged');

    // Second start reuses the certificates; SIGTERM works too.
    const second = start(['run'], dir, env);
    await second.waitFor((l) => String(l['msg']).startsWith('edgeport running'));
    assert.ok(second.lines.some((l) => l['msg'] === 'edge CA and server certificate loaded'));
    second.kill('SIGTERM');
    assert.equal((await second.exit).code, 0, second.stderr());
  });
});

test('a port in use: run exits 1 and says which port, why, and which setting changes it', async () => {
  await inTempDir(async (dir) => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const running = start(['run'], dir, cleanEnv({ EDGEPORT_METRICS_PORT: String(port), EDGEPORT_METRICS_HOST: '127.0.0.1' }));
      const exited = await running.exit;
      assert.equal(exited.code, 1);
      const line = running.lines.find((l) => l['level'] === 'error' || l['level'] === 50);
      assert.ok(line, `an error line; got ${JSON.stringify(running.lines)}`);
      assert.match(String(line['msg']), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(http\\): the port is already in use by another process; change metrics\\.port in the configuration file or set EDGEPORT_METRICS_PORT`));
    } finally {
      blocker.close();
    }
  });
});

test('cert ca-path prints an existing PEM file', async () => {
  await inTempDir((dir) => {
    const result = edgeport(['cert', 'ca-path'], dir);
    assert.equal(result.status, 0, result.stderr);
    const path = result.stdout.trim();
    assert.ok(path.startsWith(join(dir, 'data', 'certs')));
    assert.match(readFileSync(path, 'utf8'), /-----BEGIN CERTIFICATE-----/);
  });
});

test('npm start runs until Ctrl-C (SIGINT to the whole process group) and exits 0', async () => {
  await inTempDir(async (dir) => {
    const repo = fileURLToPath(new URL('../../../../', import.meta.url));
    const metricsPort = await freePort();
    const child = spawn('npm', ['start', '--silent', '--ignore-scripts'], {
      cwd: repo,
      detached: true, // its own process group, as a terminal's foreground job
      env: cleanEnv({ EDGEPORT_DATA_DIR: dir, EDGEPORT_METRICS_PORT: String(metricsPort), EDGEPORT_METRICS_HOST: '127.0.0.1', EDGEPORT_HUB_HTTPS_PORT: String(await freePort()), EDGEPORT_HUB_AMQP_PORT: String(await freePort()) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!output.includes('edgeport running')) {
      assert.ok(Date.now() < deadline, `npm start did not come up:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // (--ignore-scripts skips prestart's build: other test files are reading dist/ right now.)
    // Ctrl-C in a terminal signals npm, the shell and node at once; npm forwards it to node again.
    process.kill(-child.pid!, 'SIGINT');
    assert.equal(await exited, 0, output);
    assert.match(output, /"msg":"edgeport stopped"/);
  });
});
