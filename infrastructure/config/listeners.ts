import type { EdgeportConfig } from './load-config.js';

/** A TCP listener the configuration turns on, with the key that sets its port. */
export interface ConfiguredListener {
  /** What listens: `MQTT over TLS`, `metrics and /health`, ... */
  name: string;
  host: string;
  port: number;
  /** Configuration key of the port, for messages (`hub.mqtt.port`). */
  setting: string;
}

/**
 * Every TCP port `edgeport run` will listen on with this configuration (the hub's listeners only
 * when the hub runs, the metrics endpoint when enabled). The management and workload APIs are
 * unix sockets and take no port.
 */
export function configuredListeners(config: Pick<EdgeportConfig, 'hub' | 'metrics'>): ConfiguredListener[] {
  const listeners: ConfiguredListener[] = [];
  const hub = config.hub;
  if (hub.enabled) {
    if (hub.mqtt.enabled) {
      listeners.push({ name: 'MQTT over TLS', host: hub.mqtt.host, port: hub.mqtt.port, setting: 'hub.mqtt.port' });
      if (hub.mqtt.plainPort !== 0) listeners.push({ name: 'plain MQTT (development)', host: hub.mqtt.host, port: hub.mqtt.plainPort, setting: 'hub.mqtt.plainPort' });
    }
    if (hub.amqp.enabled) listeners.push({ name: 'AMQP over TLS', host: hub.amqp.host, port: hub.amqp.port, setting: 'hub.amqp.port' });
    if (hub.https.enabled) listeners.push({ name: 'HTTPS (methods, WebSockets)', host: hub.https.host, port: hub.https.port, setting: 'hub.https.port' });
  }
  if (config.metrics.enabled) listeners.push({ name: 'metrics and /health', host: config.metrics.host, port: config.metrics.port, setting: 'metrics.port' });
  return listeners;
}

/** Where a client on this machine reaches a listener bound to `host` (wildcards mean loopback). */
export function localAddressOf(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}
