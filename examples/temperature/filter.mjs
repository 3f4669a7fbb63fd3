// Filter module: receives readings on input `input1` and forwards those whose temperature is above
// the threshold (module twin desired `threshold`, default 25) to output `alerts`.
import iotDevice from 'azure-iot-device';
import iotMqtt from 'azure-iot-device-mqtt';

const { ModuleClient, Message } = iotDevice;
const { Mqtt } = iotMqtt;

let threshold = 25;
let received = 0;
let forwarded = 0;
let client;

function applyDesired(desired) {
  const value = Number(desired?.threshold);
  if (desired?.threshold !== undefined && Number.isFinite(value) && value !== threshold) {
    threshold = value;
    console.log(`threshold set to ${threshold} by the module twin`);
  }
}

function temperatureOf(message) {
  const property = message.properties.getValue('temperature');
  if (property !== undefined) return Number(property);
  try {
    return Number(JSON.parse(message.getBytes().toString('utf8')).temperature);
  } catch {
    return Number.NaN;
  }
}

async function onInput(input, message) {
  if (input !== 'input1') return;
  received += 1;
  const temperature = temperatureOf(message);
  if (!(temperature > threshold)) return;
  const alert = new Message(message.getBytes());
  alert.contentType = 'application/json';
  alert.contentEncoding = 'utf-8';
  alert.properties.add('temperature', String(temperature));
  alert.properties.add('alert', 'temperature above threshold');
  try {
    await client.sendOutputEvent('alerts', alert);
    forwarded += 1;
  } catch (error) {
    console.error(`forward failed: ${error.message}`);
  }
}

async function main() {
  client = await ModuleClient.fromEnvironment(Mqtt);
  client.on('error', (error) => console.error(`client error: ${error.message}`));
  client.on('inputMessage', (input, message) => void onInput(input, message));
  await client.open();
  console.log(`filter connected as ${process.env.IOTEDGE_DEVICEID}/${process.env.IOTEDGE_MODULEID}`);
  const twin = await client.getTwin();
  applyDesired(twin.properties.desired);
  twin.on('properties.desired', applyDesired);
  setInterval(() => console.log(`filter: received ${received}, forwarded ${forwarded} alerts (threshold ${threshold})`), 10_000).unref();
  // Keep running: the client's socket keeps the event loop alive.
}

async function shutdown(signal) {
  console.log(`filter: ${signal}, received ${received}, forwarded ${forwarded}; closing`);
  setTimeout(() => process.exit(0), 1000).unref();
  await client?.close().catch(() => undefined);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

main().catch((error) => {
  console.error(`filter failed: ${error?.message ?? error}`);
  process.exit(1);
});
