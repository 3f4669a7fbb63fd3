import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostedService, ListenError, type ListenInfo } from '../../../application/ports/hosted-service.js';
import { Logger, type LogFields } from '../../../application/ports/logger.js';
import { explainListenError, RuntimeHost } from '../../../infrastructure/lifecycle/runtime-host.js';

class RecordingLogger extends Logger {
  readonly lines: Array<{ level: string; message: string; fields?: LogFields }> = [];
  debug(message: string, fields?: LogFields): void { this.lines.push({ level: 'debug', message, fields }); }
  info(message: string, fields?: LogFields): void { this.lines.push({ level: 'info', message, fields }); }
  warn(message: string, fields?: LogFields): void { this.lines.push({ level: 'warn', message, fields }); }
  error(message: string, fields?: LogFields): void { this.lines.push({ level: 'error', message, fields }); }
  child(): Logger { return this; }
}

class FakePart extends HostedService {
  constructor(readonly name: string, private readonly events: string[], private readonly failWith?: Error, private readonly listens: ListenInfo[] = []) {
    super();
  }
  async start(): Promise<ListenInfo[]> {
    if (this.failWith) throw this.failWith;
    this.events.push(`start ${this.name}`);
    return this.listens;
  }
  async stop(): Promise<void> {
    this.events.push(`stop ${this.name}`);
  }
}

test('parts start in order, stop in reverse, and listeners are logged', async () => {
  const events: string[] = [];
  const logger = new RecordingLogger();
  const host = new RuntimeHost(
    [new FakePart('storage', events), new FakePart('mqtt', events, undefined, [{ protocol: 'mqtts', host: '0.0.0.0', port: 8883, setting: 'hub.mqtt.port' }])],
    logger,
  );
  const listening = await host.start();
  assert.equal(listening.length, 1);
  await host.stop();
  await host.stop();
  assert.deepEqual(events, ['start storage', 'start mqtt', 'stop mqtt', 'stop storage']);
  assert.ok(logger.lines.some((l) => l.message === 'mqtt listening on mqtts://0.0.0.0:8883'));
});

test('a part that cannot bind stops the started ones and names the setting to change', async () => {
  const events: string[] = [];
  const logger = new RecordingLogger();
  const bindFailure = new ListenError({ protocol: 'mqtts', host: '0.0.0.0', port: 8883, setting: 'hub.mqtt.port' }, 'EADDRINUSE');
  const host = new RuntimeHost([new FakePart('storage', events), new FakePart('mqtt', events, bindFailure), new FakePart('never', events)], logger);
  await assert.rejects(host.start(), ListenError);
  assert.deepEqual(events, ['start storage', 'stop storage']);
  const line = logger.lines.find((l) => l.level === 'error');
  assert.equal(
    line?.message,
    'mqtt failed to start: cannot listen on 0.0.0.0:8883 (mqtts): the port is already in use by another process; change hub.mqtt.port in the configuration file or set EDGEPORT_HUB_MQTT_PORT',
  );
  assert.equal(
    explainListenError(new ListenError({ protocol: 'http', host: '0.0.0.0', port: 80, setting: 'metrics.port' }, 'EACCES')),
    'cannot listen on 0.0.0.0:80 (http): permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE); change metrics.port in the configuration file or set EDGEPORT_METRICS_PORT',
  );
});
