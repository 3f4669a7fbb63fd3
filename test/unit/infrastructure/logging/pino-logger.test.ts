import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Logger } from '../../../../application/ports/logger.js';
import { PinoLogger, createLogger, redactPaths } from '../../../../infrastructure/logging/pino-logger.js';
import { CaptureStream } from '../../../support/capture-stream.js';

// Planted secrets: each must never appear in any output line.
const SECRETS = {
  sasSig: 'PLANTEDsigAbC123xyz%2B%3D',
  deviceKey: 'PLANTEDdeviceKeyQmFzZTY0S2V5PT0=',
  primaryKey: 'PLANTEDprimaryKey111',
  secondaryKey: 'PLANTEDsecondaryKey222',
  password: 'PLANTEDpassw0rd',
  urlPassword: 'PLANTEDurlPassword',
  token: 'PLANTEDtoken333',
  bearer: 'PLANTEDbearerTokenABCDEFGH',
} as const;

const sasToken = `SharedAccessSignature sr=hub.azure-devices.net%2Fdevices%2Fd1&sig=${SECRETS.sasSig}&se=1900000000&skn=owner`;
const connectionString = `HostName=hub.azure-devices.net;DeviceId=d1;SharedAccessKey=${SECRETS.deviceKey}`;

function assertNoSecrets(output: string): void {
  for (const [name, secret] of Object.entries(SECRETS)) {
    assert.ok(!output.includes(secret), `secret ${name} leaked into the log:\n${output}`);
  }
}

function jsonLogger(level: Parameters<typeof createLogger>[0]['level'] = 'trace'): { logger: PinoLogger; out: CaptureStream } {
  const out = new CaptureStream();
  return { logger: createLogger({ level, format: 'json', destination: out, name: 'edgeport' }), out };
}

describe('PinoLogger', () => {
  test('is a Logger port', () => {
    assert.ok(jsonLogger().logger instanceof Logger);
  });

  test('writes structured JSON lines with msg, level label, ISO time, name and bindings', () => {
    const { logger, out } = jsonLogger();
    logger.child({ component: 'mqtt' }).info('client connected', { deviceId: 'd1', count: 2 });
    const [record] = out.records;
    assert.ok(record);
    assert.equal(record['msg'], 'client connected');
    assert.equal(record['level'], 'info');
    assert.equal(record['name'], 'edgeport');
    assert.equal(record['component'], 'mqtt');
    assert.equal(record['deviceId'], 'd1');
    assert.equal(record['count'], 2);
    assert.equal(typeof record['time'], 'string');
    assert.equal(new Date(record['time'] as string).toISOString(), record['time']);
  });

  test('never writes planted secrets: message text, nested fields, bindings, errors and stacks', () => {
    const { logger, out } = jsonLogger();
    logger.info(`authenticating with ${sasToken}`);
    logger.info(`device connection string ${connectionString}`);
    logger.warn('storage', { url: `postgres://edge:${SECRETS.urlPassword}@db.local/edge`, dsn: `host=db password=${SECRETS.password}` });
    logger.debug('identity', {
      key: SECRETS.deviceKey,
      identity: { auth: { symmetricKey: { primaryKey: SECRETS.primaryKey, secondaryKey: SECRETS.secondaryKey } } },
      list: [{ deep: { deeper: { deepest: { beyond: { sasToken } } } } }],
      headers: { authorization: `Bearer ${SECRETS.bearer}` },
      password: SECRETS.password,
      connectionString,
      token: SECRETS.token,
    });
    const cause = new Error(`socket closed for ${connectionString}`);
    const error = Object.assign(new Error(`auth failed: ${sasToken}`, { cause }), { details: { password: SECRETS.password } });
    logger.error('upstream failed', { err: error });
    logger.error('upstream failed again', { error });
    logger.child({ token: SECRETS.token, url: `amqps://u:${SECRETS.urlPassword}@host` }).info(`sig=${SECRETS.sasSig}`);
    logger.pino.error(error);
    logger.pino.info({ nested: { password: SECRETS.password } }, 'printf %s', `password=${SECRETS.password}`);

    assert.equal(out.lines.length, 9);
    assertNoSecrets(out.text);
    assert.ok(out.text.includes('[REDACTED]'));
    // The stack trace is still there, only scrubbed.
    const errorLine = out.records[4];
    assert.ok(errorLine);
    const err = errorLine['err'] as Record<string, unknown>;
    assert.equal(err['type'], 'Error');
    assert.match(String(err['stack']), /auth failed: SharedAccessSignature \[REDACTED\]/);
    assert.match(String(err['stack']), /\n\s+at /);
  });

  test('pretty format writes human text (not JSON) and still redacts', () => {
    const out = new CaptureStream();
    const logger = createLogger({ level: 'info', format: 'pretty', destination: out });
    logger.info('module started', { module: 'tempSensor', password: SECRETS.password });
    logger.info(`with ${sasToken}`);
    assert.ok(out.lines.length >= 2);
    assert.throws(() => JSON.parse(out.lines[0] ?? ''));
    assert.match(out.text, /INFO/);
    assert.match(out.text, /module started/);
    assert.match(out.text, /tempSensor/);
    assert.ok(!out.text.includes('\u001b['), 'no colours when the destination is not a TTY');
    assertNoSecrets(out.text);
  });

  test('auto format: JSON for a non-TTY destination, pretty (coloured) for a TTY', () => {
    const pipe = new CaptureStream(false);
    createLogger({ level: 'info', format: 'auto', destination: pipe }).info('hello');
    assert.equal(pipe.records[0]?.['msg'], 'hello');

    const tty = new CaptureStream(true);
    createLogger({ level: 'info', format: 'auto', destination: tty }).info('hello');
    assert.throws(() => JSON.parse(tty.lines[0] ?? ''));
    assert.ok(tty.text.includes('\u001b['), 'colours on a TTY');
  });

  test('filters by level', () => {
    const { logger, out } = jsonLogger('warn');
    logger.trace('t');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    logger.fatal('f');
    assert.deepEqual(out.records.map((r) => r['level']), ['warn', 'error', 'fatal']);
    assert.equal(logger.isLevelEnabled('info'), false);

    const silent = jsonLogger('silent');
    silent.logger.error('nothing');
    assert.equal(silent.out.text, '');

    const all = jsonLogger('trace');
    all.logger.trace('t');
    assert.equal(all.out.records[0]?.['level'], 'trace');
  });

  test('redact paths cover the known field names (top level by default, deeper on request)', () => {
    const top = redactPaths();
    for (const path of ['password', 'primaryKey', 'secondaryKey', 'sharedAccessKey', 'sasToken', 'token', 'key', 'connectionString', 'authorization']) {
      assert.ok(top.includes(path), path);
    }
    const deep = redactPaths(3);
    for (const path of ['*.password', '*.*.primaryKey', '*.*.*.sasToken', '*.authorization']) {
      assert.ok(deep.includes(path), path);
    }
  });

  test('secret field names are redacted far below the pino redact paths (scrubbing step)', () => {
    const { logger, out } = jsonLogger();
    let nested: Record<string, unknown> = { password: SECRETS.password, sharedAccessKey: SECRETS.deviceKey };
    for (let i = 0; i < 8; i++) nested = { level: nested };
    logger.info('deep', { nested });
    assertNoSecrets(out.text);
    assert.equal((out.text.match(/\[REDACTED\]/g) ?? []).length, 2);
  });
});
