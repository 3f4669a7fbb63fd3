// Simulated temperature sensor module: an unchanged Azure IoT SDK module
// (ModuleClient.fromEnvironment, as under Azure IoT Edge). Every INTERVAL_MS (default 1000 ms, or the
// module twin's desired `interval`) it sends {temperature, humidity} on output `temperature`, with
// the application property `temperature` (a string) for routes to filter on.
import iotDevice from 'azure-iot-device';
import iotMqtt from 'azure-iot-device-mqtt';

const { ModuleClient, Message } = iotDevice;
const { Mqtt } = iotMqtt;

let intervalMs = Number(process.env.INTERVAL_MS ?? 1000);
let sent = 0;
let failed = 0;
let timer;
let client;

function reading() {
  // A drift around 25 °C with noise: about half of the readings are above 25.
  const t = Date.now() / 1000;
  const temperature = Math.round((25 + 3 * Math.sin(t / 15) + (Math.random() - 0.5) * 2) * 100) / 100;
  const humidity = Math.round((55 + 10 * Math.cos(t / 30) + (Math.random() - 0.5) * 4) * 100) / 100;
  return { temperature, humidity };
}

function schedule() {
  clearInterval(timer);
  timer = setInterval(() => {
    const body = reading();
    const message = new Message(JSON.stringify(body));
    message.contentType = 'application/json';
    message.contentEncoding = 'utf-8';
    message.properties.add('temperature', String(body.temperature));
    client.sendOutputEvent('temperature', message).then(
      () => {
        sent += 1;
      },
      (error) => {
        failed += 1;
        console.error(`send failed: ${error.message}`);
      },
    );
  }, intervalMs);
}

function applyDesired(desired) {
  const interval = Number(desired?.interval);
  if (Number.isFinite(interval) && interval >= 10 && interval !== intervalMs) {
    intervalMs = interval;
    console.log(`interval set to ${intervalMs} ms by the module twin`);
    if (timer !== undefined) schedule();
  }
}

async function main() {
  client = await ModuleClient.fromEnvironment(Mqtt);
  client.on('error', (error) => console.error(`client error: ${error.message}`));
  await client.open();
  console.log(`sensor connected as ${process.env.IOTEDGE_DEVICEID}/${process.env.IOTEDGE_MODULEID}`);
  const twin = await client.getTwin();
  applyDesired(twin.properties.desired);
  twin.on('properties.desired', applyDesired);
  schedule();
  setInterval(() => console.log(`sensor: sent ${sent} readings (${failed} failed), every ${intervalMs} ms`), 10_000).unref();
}

async function shutdown(signal) {
  console.log(`sensor: ${signal}, sent ${sent} readings (${failed} failed); closing`);
  clearInterval(timer);
  setTimeout(() => process.exit(0), 1000).unref();
  await client?.close().catch(() => undefined);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

main().catch((error) => {
  console.error(`sensor failed: ${error?.message ?? error}`);
  process.exit(1);
});
