import type { Message } from '../../domain/messages/message.js';
import type { RouteSpec, Endpoint } from '../../domain/routing/index.js';
import type { Clock } from '../../application/ports/clock.js';
import { EndpointDelivery, type AvailabilityListener, type DeliveryResult } from '../../application/ports/endpoint-delivery.js';
import { Logger, type LogFields } from '../../application/ports/logger.js';
import type { MessageStore } from '../../application/ports/message-store.js';
import { RandomSource } from '../../application/ports/random-source.js';
import { DeliverStoredMessages } from '../../application/hub/deliver-stored-messages.js';
import { IngestMessage } from '../../application/hub/ingest-message.js';
import { PipelineMetrics } from '../../application/hub/pipeline-metrics.js';
import { PipelineOptions } from '../../application/hub/pipeline-options.js';
import { QueueSignal } from '../../application/hub/queue-signal.js';
import { RouteConfig } from '../../application/hub/route-config.js';
import { InMemoryMetrics } from './in-memory-metrics.js';

export class SilentLogger extends Logger {
  readonly lines: Array<{ level: string; message: string; fields?: LogFields }> = [];
  debug(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'debug', message, fields });
  }
  info(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'info', message, fields });
  }
  warn(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'warn', message, fields });
  }
  error(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'error', message, fields });
  }
  child(): Logger {
    return this;
  }
}

/** Deterministic randomness: `next()` returns `value`; uuids count up. */
export class FixedRandom extends RandomSource {
  private n = 0;
  constructor(public value = 0.5) {
    super();
  }
  next(): number {
    return this.value;
  }
  uuid(): string {
    return `00000000-0000-4000-8000-${(this.n++).toString(16).padStart(12, '0')}`;
  }
}

/**
 * A recording endpoint delivery. Endpoints are available unless set otherwise; `fail` decides per
 * message whether delivery throws (return an error) or succeeds (return undefined).
 */
export class RecordingDelivery extends EndpointDelivery {
  readonly delivered = new Map<string, Message[]>();
  readonly attempts = new Map<string, number>();
  private readonly availability = new Map<string, boolean>();
  private readonly listeners = new Set<AvailabilityListener>();
  fail: ((endpoint: Endpoint, message: Message) => unknown) | undefined;
  onDeliver: ((endpoint: Endpoint, message: Message) => void) | undefined;

  setAvailable(endpointId: string, available: boolean): void {
    this.availability.set(endpointId, available);
    for (const l of this.listeners) l(endpointId, available);
  }

  isAvailable(endpoint: Endpoint): boolean {
    return this.availability.get(endpoint.id) ?? true;
  }

  onAvailabilityChange(listener: AvailabilityListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async deliver(endpoint: Endpoint, messages: readonly Message[]): Promise<DeliveryResult> {
    this.attempts.set(endpoint.id, (this.attempts.get(endpoint.id) ?? 0) + 1);
    let list = this.delivered.get(endpoint.id);
    if (list === undefined) {
      list = [];
      this.delivered.set(endpoint.id, list);
    }
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const error = this.fail?.(endpoint, m);
      if (error !== undefined) return { delivered: i, error };
      list.push(m);
      this.onDeliver?.(endpoint, m);
    }
    return { delivered: messages.length };
  }

  ids(endpointId: string, property = 'id'): string[] {
    return (this.delivered.get(endpointId) ?? []).map((m) => m.properties[property] ?? '');
  }
}

export interface Pipeline {
  ingest: IngestMessage;
  pumps: DeliverStoredMessages;
  metrics: InMemoryMetrics;
  pipelineMetrics: PipelineMetrics;
  delivery: RecordingDelivery;
  routes: RouteConfig;
  logger: SilentLogger;
  options: PipelineOptions;
}

/** Wires the pipeline by hand (the composition root does the same with inversify). */
export function buildPipeline(args: {
  store: MessageStore;
  clock: Clock;
  routes: Record<string, RouteSpec>;
  options?: Partial<PipelineOptions>;
  random?: RandomSource;
  delivery?: RecordingDelivery;
}): Pipeline {
  const metrics = new InMemoryMetrics();
  const pm = new PipelineMetrics(metrics);
  const options = new PipelineOptions(args.options);
  const routes = new RouteConfig();
  const update = routes.replace(args.routes);
  if (!update.ok) throw new Error(update.error);
  const signal = new QueueSignal();
  const random = args.random ?? new FixedRandom();
  const logger = new SilentLogger();
  const delivery = args.delivery ?? new RecordingDelivery();
  const ingest = new IngestMessage(routes, args.store, args.clock, random, signal, pm, options);
  const pumps = new DeliverStoredMessages(args.store, delivery, signal, args.clock, random, pm, options, logger);
  return { ingest, pumps, metrics, pipelineMetrics: pm, delivery, routes, logger, options };
}

export function telemetry(id: number | string, bodyBytes = 16, outputName = 'out'): Message {
  return {
    body: new Uint8Array(bodyBytes).fill(65),
    properties: { id: String(id) },
    systemProperties: { outputName },
  };
}

export const SENSOR = { deviceId: 'edge1', moduleId: 'sensor' };

/** Polls `condition` every 2 ms (real time) until it holds; fails after `timeoutMs`. */
export async function eventually(condition: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Lets pending promise chains and I/O callbacks run. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}
