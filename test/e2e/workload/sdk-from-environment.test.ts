import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { IdentityStore } from '../../../application/ports/identity-store.js';
import { ModuleRuntime } from '../../../application/ports/module-runtime.js';
import { ModuleIdentities } from '../../../application/workload/module-identities.js';
import { Message, ModuleClient, Mqtt } from '../../support/mqtt/sdk.js';
import { within } from '../../support/mqtt/hub-harness.js';
import { until } from '../../support/agent/process-fixtures.js';
import { EDGE_DEVICE, IOT_HUB, startRuntime } from '../../support/management/runtime-harness.js';

const require = createRequire(import.meta.url);

/** An unchanged SDK module: `ModuleClient.fromEnvironment(Mqtt)`, one output message, then idle. */
const SENDER = `
const { ModuleClient, Message } = require(${JSON.stringify(require.resolve('azure-iot-device'))});
const { Mqtt } = require(${JSON.stringify(require.resolve('azure-iot-device-mqtt'))});
(async () => {
  try {
    const client = await ModuleClient.fromEnvironment(Mqtt);
    await client.open();
    console.log('connected as ' + process.env.IOTEDGE_DEVICEID + '/' + process.env.IOTEDGE_MODULEID + (process.env.EdgeHubConnectionString ? ' with EdgeHubConnectionString' : ' through the workload API'));
    const message = new Message(JSON.stringify({ hello: 'from ' + process.env.IOTEDGE_MODULEID }));
    message.properties.add('generation', process.env.IOTEDGE_MODULEGENERATIONID);
    await client.sendOutputEvent('out', message);
    console.log('sent');
    setInterval(() => {}, 1000);
  } catch (error) {
    console.error('module failed: ' + (error && error.message));
    process.exit(3);
  }
})();
`;

test('e2e: a process module using ModuleClient.fromEnvironment(Mqtt) gets its identity from the agent, signs through the workload API and its output is routed', { timeout: 60_000 }, async () => {
  const runtime = await startRuntime({
    hub: true,
    modules: { sender: { type: 'process', status: 'running', restartPolicy: 'never', version: '1.0', settings: { command: process.execPath, args: ['-e', SENDER] } } },
    routes: { toReceiver: 'FROM /messages/modules/sender/outputs/out INTO BrokeredEndpoint("/modules/receiver/inputs/in")' },
  });
  let receiver: ModuleClient | undefined;
  try {
    // The agent provisioned edge1/sender with keys and a generation id...
    const generationId = await runtime.get(ModuleIdentities).generationOf('sender');
    assert.ok(generationId !== undefined && generationId.length > 0);
    const credentials = await runtime.get(IdentityStore).get({ kind: 'module', deviceId: EDGE_DEVICE, moduleId: 'sender' });
    assert.ok(credentials !== undefined && Buffer.from(credentials.primaryKey, 'base64').length === 32);

    // ...and a receiver module (connection string) gets the routed message.
    const key = randomBytes(32).toString('base64');
    await runtime.get(IdentityStore).put({ kind: 'module', deviceId: EDGE_DEVICE, moduleId: 'receiver' }, { primaryKey: key, secondaryKey: randomBytes(32).toString('base64') });
    receiver = ModuleClient.fromConnectionString(`HostName=${IOT_HUB};DeviceId=${EDGE_DEVICE};ModuleId=receiver;SharedAccessKey=${key};GatewayHostName=localhost:${runtime.port}`, Mqtt);
    await receiver.setOptions({ ca: runtime.ca });
    const received = new Promise<{ input: string; msg: Message }>((resolve) => receiver!.on('inputMessage', (input: string, msg: Message) => resolve({ input, msg })));
    await within(10_000, 'receiver open', receiver.open());

    const { input, msg } = await within(30_000, 'the routed message from the sender module', received);
    assert.equal(input, 'in');
    assert.deepEqual(JSON.parse(msg.getBytes().toString()), { hello: 'from sender' });
    assert.equal(msg.properties.getValue('$.cdid'), EDGE_DEVICE);
    assert.equal(msg.properties.getValue('$.cmid'), 'sender');
    assert.equal(msg.properties.getValue('generation'), generationId);

    // The module process saw exactly the environment Azure's agent sets (§4.1).
    const logsDir = join(runtime.dir, 'modules');
    await until(async () => (await readFile(join(logsDir, 'sender.log'), 'utf8').catch(() => '')).includes('sent'), 10_000, 'sender log');
    const log = await readFile(join(logsDir, 'sender.log'), 'utf8');
    assert.match(log, /connected as edge1\/sender through the workload API/);
    const modules = await runtime.get(ModuleRuntime).list();
    assert.equal(modules.find((m) => m.name === 'sender')?.state.status, 'running');
    const signed = runtime.logger.entries.filter((e) => e.message.startsWith('sign refused'));
    assert.deepEqual(signed, []);
  } finally {
    await receiver?.close().catch(() => undefined);
    await runtime.close();
  }
});

test('e2e (opt-in legacy): EdgeHubConnectionString + EdgeModuleCACertificateFile let fromEnvironment connect without the workload API', { timeout: 60_000 }, async () => {
  const runtime = await startRuntime({
    hub: true,
    legacyConnectionString: true,
    modules: { sender: { type: 'process', status: 'running', restartPolicy: 'never', version: '1.0', settings: { command: process.execPath, args: ['-e', SENDER] } } },
    routes: { toReceiver: 'FROM /messages/modules/sender/outputs/out INTO BrokeredEndpoint("/modules/receiver/inputs/in")' },
  });
  let receiver: ModuleClient | undefined;
  try {
    const key = randomBytes(32).toString('base64');
    await runtime.get(IdentityStore).put({ kind: 'module', deviceId: EDGE_DEVICE, moduleId: 'receiver' }, { primaryKey: key, secondaryKey: randomBytes(32).toString('base64') });
    receiver = ModuleClient.fromConnectionString(`HostName=${IOT_HUB};DeviceId=${EDGE_DEVICE};ModuleId=receiver;SharedAccessKey=${key};GatewayHostName=localhost:${runtime.port}`, Mqtt);
    await receiver.setOptions({ ca: runtime.ca });
    const received = new Promise<Message>((resolve) => receiver!.on('inputMessage', (_input: string, msg: Message) => resolve(msg)));
    await within(10_000, 'receiver open', receiver.open());
    const msg = await within(30_000, 'the routed message from the sender module', received);
    assert.equal(msg.properties.getValue('$.cmid'), 'sender');
    const logsDir = join(runtime.dir, 'modules');
    await until(async () => (await readFile(join(logsDir, 'sender.log'), 'utf8').catch(() => '')).includes('sent'), 10_000, 'sender log');
    assert.match(await readFile(join(logsDir, 'sender.log'), 'utf8'), /connected as edge1\/sender with EdgeHubConnectionString/);
  } finally {
    await receiver?.close().catch(() => undefined);
    await runtime.close();
  }
});
