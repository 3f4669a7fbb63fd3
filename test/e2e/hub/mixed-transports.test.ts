import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Message, type ModuleClient } from '../../support/mqtt/sdk.js';
import { startHub, within } from '../../support/mqtt/hub-harness.js';
import { AMQP, MQTT, collectInputs, openModule } from './scenarios.js';

test('mixed transports: an MQTT module\'s output is routed to an AMQP module\'s input, and the AMQP module\'s output back to the MQTT module', { timeout: 30_000 }, async () => {
  const hub = await startHub({
    routes: {
      toAmqp: 'FROM /messages/modules/mqttMod/outputs/out INTO BrokeredEndpoint("/modules/amqpMod/inputs/in")',
      back: 'FROM /messages/modules/amqpMod/outputs/echo INTO BrokeredEndpoint("/modules/mqttMod/inputs/echoed")',
    },
  });
  const clients: ModuleClient[] = [];
  try {
    const m = await hub.addIdentity('edge1/mqttMod');
    const a = await hub.addIdentity('edge1/amqpMod');
    const mqttModule = await openModule(MQTT, MQTT.connectionString(m), hub.ca);
    const amqpModule = await openModule(AMQP, AMQP.connectionString(a), hub.ca);
    clients.push(mqttModule, amqpModule);
    // The AMQP module echoes every input on its output `echo`, tagging it.
    amqpModule.on('inputMessage', (input: string, msg: Message) => {
      const echo = new Message(msg.getBytes());
      echo.properties.add('via', `amqp:${input}`);
      echo.properties.add('seq', String(msg.properties.getValue('seq')));
      void amqpModule.complete(msg).then(() => amqpModule.sendOutputEvent('echo', echo));
    });
    const echoed = collectInputs(mqttModule);
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 5; i++) {
      const out = new Message(`ping-${i}`);
      out.properties.add('seq', String(i));
      await within(10_000, 'MQTT sendOutputEvent', mqttModule.sendOutputEvent('out', out));
    }
    await within(15_000, 'echoes back at the MQTT module', (async () => {
      while (echoed.length < 5) await new Promise((r) => setTimeout(r, 20));
    })());
    assert.deepEqual(echoed.map((e) => e.input), ['echoed', 'echoed', 'echoed', 'echoed', 'echoed']);
    assert.deepEqual(echoed.map((e) => e.msg.getBytes().toString()), ['ping-0', 'ping-1', 'ping-2', 'ping-3', 'ping-4']);
    assert.deepEqual(echoed.map((e) => e.msg.properties.getValue('via')), Array(5).fill('amqp:in'));
    // The hub stamped the AMQP module as the sender of the echoes.
    assert.deepEqual(MQTT.connectionIds(echoed[0]!.msg), { deviceId: 'edge1', moduleId: 'amqpMod' });
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await hub.close();
  }
});
