import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientDirectory } from '../../../application/hub/client-directory.js';
import { HubIdentity } from '../../../application/hub/hub-identity.js';
import { MethodService } from '../../../application/hub/method-service.js';
import { TwinService } from '../../../application/hub/twin-service.js';
import { TwinStore } from '../../../application/hub/twin-store.js';
import { AgentMethodEndpoint } from '../../../application/agent/agent-method-endpoint.js';
import { AgentMethods } from '../../../application/agent/agent-methods.js';
import { AgentSettings } from '../../../application/agent/agent-settings.js';
import { TwinAgentReporter, edgeAgentIdentity } from '../../../application/agent/twin-agent-reporter.js';
import { DeliveryError } from '../../../application/ports/endpoint-delivery.js';
import { replacementPatch } from '../../../domain/deployment/reported-diff.js';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { InMemoryMessageStore } from '../../../adapters/storage/in-memory-message-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FixedRandom, SilentLogger, buildPipeline } from '../../support/pipeline-harness.js';
import { InMemoryStateStore } from '../../support/in-memory-state-store.js';
import { FakeModuleRuntime } from '../../support/agent/fake-module-runtime.js';

const HUB = new HubIdentity('edge1', 'hub.example');
const AGENT = edgeAgentIdentity(HUB);

function twinService(clock: FakeClock): TwinService {
  const pipeline = buildPipeline({ store: new InMemoryMessageStore(), clock, routes: {} });
  return new TwinService(new TwinStore(new InMemoryStateStore()), new ClientDirectory(), pipeline.ingest, clock, HUB, new SilentLogger());
}

test('replacementPatch: all of next, null for what only previous has (any depth), $ keys untouched', () => {
  assert.deepEqual(
    replacementPatch({ $version: 4, a: 1, gone: 2, modules: { old: { x: 1 }, kept: { x: 1, y: 2 } } }, { a: 1, modules: { kept: { x: 1 } }, b: { c: 3 } }),
    { a: 1, modules: { kept: { x: 1, y: null }, old: null }, b: { c: 3 }, gone: null },
  );
});

test('TwinAgentReporter: the first report replaces what the $edgeAgent twin held; then patches; a failed update is followed by a full report', async () => {
  const clock = new FakeClock(0);
  const twins = twinService(clock);
  assert.equal(AGENT.moduleId, '$edgeAgent');
  // What a previous run left: a module since removed, and a field no longer reported.
  await twins.updateReported(AGENT, { schemaVersion: '1.0', modules: { gone: { runtimeStatus: 'running' }, app: { runtimeStatus: 'failed', exitCode: 1, old: true } } });
  const reporter = new TwinAgentReporter(twins, HUB);

  await reporter.report({ schemaVersion: '1.0', lastDesiredVersion: 3, modules: { app: { runtimeStatus: 'running', exitCode: 0 } } });
  assert.deepEqual((await twins.get(AGENT)).reported.properties, { schemaVersion: '1.0', lastDesiredVersion: 3, modules: { app: { runtimeStatus: 'running', exitCode: 0 } } });

  await reporter.report({ modules: { app: { runtimeStatus: 'backoff' } } });
  let twin = await twins.get(AGENT);
  assert.deepEqual(twin.reported.properties['modules'], { app: { runtimeStatus: 'backoff', exitCode: 0 } });
  const version = twin.reported.$version;

  // IoT Hub refuses the name: nothing is stored, the error reaches the agent (which logs it).
  await assert.rejects(reporter.report({ 'bad.name': 1 }), /bad\.name|"\."/);
  assert.equal((await twins.get(AGENT)).reported.$version, version);
  // Someone else changed the twin meanwhile; the next report is a full one again and fixes it.
  await twins.updateReported(AGENT, { modules: { app: { runtimeStatus: 'dead' } } });
  await assert.rejects(reporter.report({ lastDesiredVersion: 4 }), /bad\.name|"\."/, 'the refused key is still part of the state');
  // (the agent never reports such a key twice: module names are validated; here we drop it)
  await reporter.report({ 'bad.name': null, lastDesiredVersion: 4 });
  twin = await twins.get(AGENT);
  assert.deepEqual(twin.reported.properties, { schemaVersion: '1.0', lastDesiredVersion: 4, modules: { app: { runtimeStatus: 'backoff', exitCode: 0 } } });
});

test('AgentMethodEndpoint: MethodService reaches the agent methods as edge1/$edgeAgent, in process', async () => {
  const clock = new FakeClock(0);
  const directory = new ClientDirectory();
  const methods = new MethodService(directory, clock, new FixedRandom(), new SilentLogger());
  const runtime = new FakeModuleRuntime(clock);
  const endpoint = new AgentMethodEndpoint(directory, methods, new AgentMethods(runtime, clock, new AgentSettings()), HUB, new SilentLogger());

  assert.equal((await methods.invoke(AGENT, 'ping', undefined)).status, 404, 'not registered before start');
  await endpoint.start();
  const channel = directory.get(AGENT)!;
  assert.equal(channel.protocol, 'in-process');
  assert.equal(channel.has('methods'), true);
  assert.equal(channel.has('inputs'), false);
  await assert.rejects(channel.sendC2d({ body: new Uint8Array(), properties: {}, systemProperties: {} }), (e: unknown) => e instanceof DeliveryError && !e.transient);

  assert.deepEqual(await methods.invoke(AGENT, 'ping', null), { status: 200, payload: null });
  assert.deepEqual(await methods.invoke(parseIdentity('edge1/$edgeAgent'), 'RestartModule', { schemaVersion: '1.0', id: 'nope' }), { status: 404, payload: { message: 'module nope does not exist' } });
  assert.equal((await methods.invoke(AGENT, 'Unknown', {})).status, 501);
  assert.equal(methods.inFlight, 0);

  // A connection that takes the identity over and leaves: the agent's channel comes back.
  const intruder = { ...channel, identity: AGENT, protocol: 'mqtt', has: () => false };
  directory.register(intruder);
  assert.equal((await methods.invoke(AGENT, 'ping', null)).status, 404);
  directory.unregister(intruder);
  assert.equal((await methods.invoke(AGENT, 'ping', null)).status, 200);

  await endpoint.stop();
  assert.equal(directory.get(AGENT), undefined);
  assert.equal((await methods.invoke(AGENT, 'ping', null)).status, 404);
});
