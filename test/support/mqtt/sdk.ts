// The Azure IoT SDK packages are CommonJS without named-export hints: load them through the default export.
import deviceSdk from 'azure-iot-device';
import mqttSdk from 'azure-iot-device-mqtt';
import { Agent as HttpsAgent } from 'node:https';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';

export const { Client, Message, ModuleClient, X509AuthenticationProvider } = deviceSdk;
export const { Mqtt } = mqttSdk;
export type Client = InstanceType<typeof deviceSdk.Client>;
export type Message = InstanceType<typeof deviceSdk.Message>;
export type ModuleClient = InstanceType<typeof deviceSdk.ModuleClient>;
export const { MqttWs } = mqttSdk;

/**
 * An HTTPS agent that sends every connection to `127.0.0.1:<port>` (TLS name `localhost`). The SDK
 * always targets port 443 for MQTT over WebSocket and for `ModuleClient.invokeMethod`
 * (iot-sdk-protocol.md §0); tests hand this agent to the SDK's own options (`mqtt.webSocketAgent`,
 * `http.agent`) to reach the hub's HTTPS listener on a free port.
 */
export function agentToPort(port: number): HttpsAgent {
  const agent = new HttpsAgent({ keepAlive: false });
  (agent as unknown as { createConnection: (options: ConnectionOptions) => TLSSocket }).createConnection = (options) => tlsConnect({ ...options, host: '127.0.0.1', port, servername: 'localhost' });
  return agent;
}
