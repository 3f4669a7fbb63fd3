/** IoT Hub's and Azure edge hub's maximum message size: properties plus body, in bytes. */
export const MAX_MESSAGE_SIZE_BYTES = 256 * 1024;
