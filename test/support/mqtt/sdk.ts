// The Azure IoT SDK packages are CommonJS without named-export hints: load them through the default export.
import deviceSdk from 'azure-iot-device';
import mqttSdk from 'azure-iot-device-mqtt';

export const { Client, Message, ModuleClient } = deviceSdk;
export const { Mqtt } = mqttSdk;
export type Client = InstanceType<typeof deviceSdk.Client>;
export type Message = InstanceType<typeof deviceSdk.Message>;
export type ModuleClient = InstanceType<typeof deviceSdk.ModuleClient>;
