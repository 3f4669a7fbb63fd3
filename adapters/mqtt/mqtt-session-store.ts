import type { JsonValue, StateStore } from '../../application/ports/state-store.js';

/** State-store namespace of MQTT session subscription sets (key: clientId). */
export const MQTT_SESSIONS_NAMESPACE = 'mqtt-sessions';

/**
 * The subscription set of each `clean=false` MQTT session, kept in the `StateStore` so it
 * survives a hub restart. aedes keeps sessions in memory only; the Azure SDK re-subscribes
 * nothing on a token-renewal reconnect and never re-subscribes twin topics after a network drop
 * (iot-sdk-protocol.md §1.7), so without this a restarted hub would silently stop pushing desired
 * properties. Offline QoS 1 queues are not kept: the endpoint pumps own module-input redelivery.
 */
export class MqttSessionStore {
  constructor(private readonly state: StateStore) {}

  async load(clientId: string): Promise<Map<string, number>> {
    const value = await this.state.get(MQTT_SESSIONS_NAMESPACE, clientId);
    const filters = new Map<string, number>();
    if (value !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [topic, qos] of Object.entries(value)) if (qos === 0 || qos === 1) filters.set(topic, qos);
    }
    return filters;
  }

  async save(clientId: string, filters: ReadonlyMap<string, number>): Promise<void> {
    if (filters.size === 0) {
      await this.state.delete(MQTT_SESSIONS_NAMESPACE, clientId);
      return;
    }
    const value: { [topic: string]: JsonValue } = {};
    for (const [topic, qos] of filters) Object.defineProperty(value, topic, { value: qos, enumerable: true, writable: true, configurable: true });
    await this.state.put(MQTT_SESSIONS_NAMESPACE, clientId, value);
  }

  async delete(clientId: string): Promise<void> {
    await this.state.delete(MQTT_SESSIONS_NAMESPACE, clientId);
  }
}
