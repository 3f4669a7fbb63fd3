// azure-iot-device-amqp is CommonJS without named-export hints: load it through the default export.
import amqpSdk from 'azure-iot-device-amqp';

export const { Amqp, AmqpWs } = amqpSdk;
