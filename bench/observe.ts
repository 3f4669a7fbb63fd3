/**
 * What observing costs: `npm run bench:observe [-- --messages=1000000 --senders=20]`.
 * - per message: the counters the pipeline updates for every routed and delivered message
 *   (`PipelineMetrics.routed` + `.delivered`: Azure's labelled series, route and queue counters),
 *   beside the same run's baseline, one labelled counter increment per message as before them;
 * - per sample: the read model's once-a-second copy of the counters (`RuntimeReadModel.sample`)
 *   with `--senders` clients' series, and one `status()` answer, in microseconds.
 * Prints `observe: per message X ns (baseline Y ns, ratio R); sample S us; status T us`.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { PrometheusMetrics } from '../adapters/metrics/prometheus-metrics.js';
import { InMemoryMessageStore } from '../adapters/storage/in-memory-message-store.js';
import { SystemClock } from '../adapters/clock/system-clock.js';
import { PipelineMetrics } from '../application/hub/pipeline-metrics.js';
import { RouteConfig } from '../application/hub/route-config.js';
import { RuntimeInfo, RuntimeReadModel } from '../application/observe/runtime-read-model.js';
import type { QueuedMessage } from '../application/ports/message-store.js';
import { RouteTable, type Endpoint } from '../domain/routing/index.js';
import { arg } from './bench-args.js';

const MESSAGES = arg('messages', 1_000_000);
const SENDERS = arg('senders', 20);
const BATCH = 50;

const routes = { toB: 'FROM /messages/modules/*/outputs/* INTO BrokeredEndpoint("/modules/b/inputs/in")', up: 'FROM /messages/* INTO $upstream' };
const table = RouteTable.compile(routes);
const endpoint: Endpoint = { type: 'module', id: 'b/in', module: 'b', input: 'in' };

function batches(): QueuedMessage[][] {
  const out: QueuedMessage[][] = [];
  for (let s = 0; s < SENDERS; s++) {
    const batch: QueuedMessage[] = [];
    for (let i = 0; i < BATCH; i++) {
      batch.push({ offset: i, expiresAt: Number.MAX_SAFE_INTEGER, enqueuedAt: Date.now(), message: { body: new Uint8Array(8), properties: {}, systemProperties: { connectionDeviceId: 'edge1', connectionModuleId: `m${s}`, outputName: 'out' } } });
    }
    out.push(batch);
  }
  return out;
}

/** ns per message of `work(batch)` over MESSAGES messages. */
function time(work: (batch: QueuedMessage[]) => void): number {
  const all = batches();
  for (let i = 0; i < 2000; i++) work(all[i % all.length]!);
  const start = performance.now();
  for (let n = 0, i = 0; n < MESSAGES; n += BATCH, i++) work(all[i % all.length]!);
  return ((performance.now() - start) * 1e6) / MESSAGES;
}

const metrics = new PrometheusMetrics();
const pipeline = new PipelineMetrics(metrics);
const matches = table.match({ source: '/messages/modules/m0/outputs/out', body: new Uint8Array(0), properties: {}, systemProperties: {} });
const sent = metrics.counter('bench_baseline_total', 'baseline');
const baselineLabels = { endpoint: 'b/in', priority: '2000000000' };

const results = { base: [] as number[], observed: [] as number[] };
for (let round = 0; round < 5; round++) {
  // Before: one labelled increment per delivered batch and one per message at ingest.
  results.base.push(
    time((batch) => {
      for (let i = 0; i < batch.length; i++) pipeline.unrouted.inc();
      sent.inc(baselineLabels, batch.length);
    }),
  );
  results.observed.push(
    time((batch) => {
      for (let i = 0; i < batch.length; i++) pipeline.routed(batch[i]!.message.systemProperties, matches);
      sent.inc(baselineLabels, batch.length);
      pipeline.delivered(endpoint, 2000000000, batch, batch.length, Date.now());
    }),
  );
}
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const base = median(results.base);
const observed = median(results.observed);

const routeConfig = new RouteConfig();
routeConfig.replace(routes);
const model = new RuntimeReadModel(new SystemClock(), metrics, new RuntimeInfo('edge1', 'bench', { hub: true, agent: false }), undefined, undefined, routeConfig, new InMemoryMessageStore(), pipeline);
const sampleStart = performance.now();
for (let i = 0; i < 1000; i++) model.sample();
const sampleUs = ((performance.now() - sampleStart) * 1000) / 1000;
const statusStart = performance.now();
for (let i = 0; i < 100; i++) await model.status();
const statusUs = ((performance.now() - statusStart) * 1000) / 100;
console.log(`observe: per message ${observed.toFixed(0)} ns (baseline ${base.toFixed(0)} ns, ratio ${(observed / base).toFixed(2)}); sample ${sampleUs.toFixed(0)} us with ${metrics.snapshot().length} series; status ${statusUs.toFixed(0)} us`);
