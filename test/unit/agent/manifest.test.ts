import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAgentDesired, checkAgentSchemaVersion } from '../../../domain/deployment/agent-desired.js';
import { parseAgentTwinDesired, parseDeploymentManifest, parseDeploymentManifestText } from '../../../domain/deployment/deployment-manifest.js';
import { parseHubDesired, DEFAULT_ROUTE_PRIORITY } from '../../../domain/deployment/hub-desired.js';
import { readCreateOptions, writeCreateOptions } from '../../../domain/deployment/create-options.js';
import { credentialFor, normalizeImageName } from '../../../domain/deployment/image-name.js';
import { Problems } from '../../../domain/deployment/problems.js';
import { reportedDiff, applyReportedPatch } from '../../../domain/deployment/reported-diff.js';
import { EMPTY_CONFIGURATION_DESCRIPTION } from '../../../domain/deployment/deployment-status.js';

const fixture = fileURLToPath(new URL('../../../../test/fixtures/agent/azure-example-manifest.json', import.meta.url));
const example = (): Record<string, any> => JSON.parse(readFileSync(fixture, 'utf8')); // any: test fixture edited freely

function agentWith(mutate: (desired: Record<string, any>) => void): ReturnType<typeof parseAgentDesired> { // any: as above
  const doc = example();
  const desired = doc['modulesContent']['$edgeAgent']['properties.desired'];
  mutate(desired);
  return parseAgentDesired(desired);
}

function errorOf(result: ReturnType<typeof parseAgentDesired>): { code: number; description: string } {
  assert.equal(result.ok, false, 'expected a rejected manifest');
  if (result.ok) throw new Error('unreachable');
  return result.status;
}

test('Azure example manifest (schema 1.1) parses with defaults, chunked createOptions and credentials', () => {
  const parsed = parseDeploymentManifest(example());
  assert.equal(parsed.agent.ok, true);
  if (!parsed.agent.ok) return;
  const config = parsed.agent.value;
  assert.equal(config.schemaVersion, '1.1');
  assert.equal(config.runtime?.settings.minDockerVersion, 'v1.25');
  assert.deepEqual(config.modules.map((m) => m.name), ['SimulatedTemperatureSensor', 'filtermodule']);
  const [sensor, filter] = config.modules;
  assert.equal(sensor?.startupOrder, 1);
  assert.equal(sensor?.restartPolicy, 'always');
  assert.deepEqual(sensor?.env, { MessageCount: '-1' });
  assert.equal(sensor?.registryCredential, undefined);
  assert.equal(filter?.status, 'stopped');
  assert.equal(filter?.restartPolicy, 'on-failure');
  assert.equal(filter?.startupOrder, 4294967295);
  assert.equal(filter?.imagePullPolicy, 'on-create');
  assert.deepEqual(filter?.settings, { kind: 'docker', image: 'myacr.azurecr.io/filtermodule:0.0.1-amd64', createOptions: { HostConfig: { Binds: ['/data:/data'], Memory: 536870912 } } });
  assert.equal(filter?.registryCredential?.username, 'myacr');
  assert.equal(config.systemModules.edgeAgent?.restartPolicy, 'always');
  assert.equal(config.systemModules.edgeAgent?.startupOrder, 0);
  assert.equal(config.systemModules.edgeHub?.status, 'running');
  assert.equal(parsed.hub?.ok, true);
  if (parsed.hub?.ok) {
    assert.deepEqual(parsed.hub.value.routes['alerts'], { route: 'FROM /messages/modules/filtermodule/outputs/alerts INTO $upstream', priority: 0, timeToLiveSecs: 86400 });
    assert.equal(parsed.hub.value.routes['upstream']?.priority, DEFAULT_ROUTE_PRIORITY);
    assert.equal(parsed.hub.value.storeAndForwardConfiguration?.timeToLiveSecs, 7200);
  }
});

test('schema versions: 1.0, 1.1, 1.1.0 accepted; others 412 with Azure text', () => {
  for (const v of ['1.0', '1.1', '1.1.0', '1.0.5']) assert.equal(checkAgentSchemaVersion(v), undefined, v);
  assert.deepEqual(checkAgentSchemaVersion('1.2'), { code: 412, description: 'The desired properties schema version 1.2 is not compatible with the expected version 1.1.0' });
  assert.equal(checkAgentSchemaVersion('2.0')?.code, 412);
  assert.equal(checkAgentSchemaVersion('1.1.0.0')?.code, 412);
  assert.deepEqual(checkAgentSchemaVersion('abc'), { code: 412, description: 'Invalid desired properties schema version abc' });
  assert.equal(checkAgentSchemaVersion(undefined)?.code, 412);
  assert.equal(errorOf(agentWith((d) => { d['schemaVersion'] = '3.0'; })).code, 412);
  assert.equal(errorOf(agentWith((d) => { delete d['schemaVersion']; })).code, 412);
});

test('empty or missing agent configuration: 417', () => {
  const expected = { code: 417, description: EMPTY_CONFIGURATION_DESCRIPTION };
  assert.deepEqual(errorOf(parseAgentDesired(undefined)), expected);
  assert.deepEqual(errorOf(parseAgentDesired({ $version: 3 })), expected);
  assert.deepEqual(errorOf(parseDeploymentManifest({}).agent), expected);
  assert.deepEqual(errorOf(parseDeploymentManifest({ modulesContent: {} }).agent), expected);
  assert.deepEqual(errorOf(parseDeploymentManifest({ modulesContent: { $edgeAgent: { 'properties.desired': {} } } }).agent), expected);
  assert.deepEqual(errorOf(parseDeploymentManifestText('  ').agent), expected);
});

test('format errors: 400 naming every problem with its path', () => {
  const bad = errorOf(agentWith((d) => {
    d['modules']['filtermodule']['status'] = 'paused';
    d['modules']['filtermodule']['restartPolicy'] = 'sometimes';
    d['modules']['SimulatedTemperatureSensor']['startupOrder'] = -1;
  }));
  assert.equal(bad.code, 400);
  assert.match(bad.description, /^Agent configuration format is invalid\. /);
  assert.match(bad.description, /modules\.filtermodule\.status: expected one of "running", "stopped" \(got "paused"\)/);
  assert.match(bad.description, /modules\.filtermodule\.restartPolicy: expected one of "never", "on-failure", "on-unhealthy", "always" \(got "sometimes"\)/);
  assert.match(bad.description, /modules\.SimulatedTemperatureSensor\.startupOrder: expected an integer from 0 to 4294967295 \(got -1\)/);

  const cases: Array<[(d: Record<string, any>) => void, RegExp]> = [ // any: fixture edits
    [(d) => { delete d['modules']['filtermodule']['status']; }, /modules\.filtermodule\.status: required/],
    [(d) => { delete d['modules']['filtermodule']['type']; }, /modules\.filtermodule\.type: required/],
    [(d) => { d['modules']['filtermodule']['type'] = 'rkt'; }, /modules\.filtermodule\.type: expected one of "docker", "process"/],
    [(d) => { d['modules']['filtermodule']['restartPolicy'] = null; }, /restartPolicy: must not be null/],
    [(d) => { d['modules']['filtermodule']['settings']['image'] = '  '; }, /settings\.image: image name cannot be empty/],
    [(d) => { d['modules']['filtermodule']['settings']['image'] = 'a/b:c:d'; }, /is not a valid image name/],
    [(d) => { d['modules']['filtermodule']['settings']['createOptions01'] = '{{'; }, /createOptions is not valid JSON/],
    [(d) => { d['modules']['filtermodule']['settings']['createOptions03'] = '}'; }, /error while parsing chunked field createOptions/],
    [(d) => { d['modules']['filtermodule']['env'] = { A: 'x' }; }, /env\.A: expected \{"value": "\.\.\."\}/],
    [(d) => { d['modules']['bad/name'] = d['modules']['filtermodule']; }, /module name "bad\/name" is invalid/],
    [(d) => { d['modules']['edgeHub'] = d['modules']['filtermodule']; }, /"edgeHub" is a system module/],
    [(d) => { d['runtime']['type'] = 'kubernetes'; }, /runtime\.type: expected one of "docker"/],
    [(d) => { d['runtime']['settings']['registryCredentials']['myacr']['password'] = ''; }, /registryCredentials\.myacr\.password: expected a password/],
    [(d) => { d['modules']['p'] = { type: 'process', status: 'running', settings: { args: [1] } }; }, /modules\.p\.settings\.command: expected a command.*modules\.p\.settings\.args: expected an array of strings/],
    [(d) => { d['modules'] = []; }, /modules: expected an object \(got an array\)/],
  ];
  for (const [mutate, pattern] of cases) {
    const status = errorOf(agentWith(mutate));
    assert.equal(status.code, 400, pattern.source);
    assert.match(status.description, pattern);
  }
  assert.match(errorOf(parseDeploymentManifestText('{"modulesContent": ').agent).description, /not valid JSON/);
  assert.equal(errorOf(parseDeploymentManifestText('[1]').agent).code, 400);
});

test('enum spellings are matched ignoring case (Newtonsoft), integers give the n-th value', () => {
  const result = agentWith((d) => {
    d['modules']['filtermodule']['restartPolicy'] = 'On-Failure';
    d['modules']['filtermodule']['status'] = 'RUNNING';
    d['modules']['SimulatedTemperatureSensor']['restartPolicy'] = 0;
    d['modules']['SimulatedTemperatureSensor']['imagePullPolicy'] = 'Never';
  });
  assert.equal(result.ok, true);
  if (!result.ok) return;
  const [sensor, filter] = result.value.modules;
  assert.equal(filter?.restartPolicy, 'on-failure');
  assert.equal(filter?.status, 'running');
  assert.equal(sensor?.restartPolicy, 'never');
  assert.equal(sensor?.imagePullPolicy, 'never');
});

test('defaults: user modules on-unhealthy, edgeHub always, version "", env value null -> ""', () => {
  const result = agentWith((d) => {
    delete d['modules']['filtermodule']['restartPolicy'];
    delete d['modules']['filtermodule']['version'];
    d['modules']['filtermodule']['env'] = { EMPTY: { value: null }, NUM: { value: 5 } };
    delete d['systemModules']['edgeHub']['restartPolicy'];
  });
  assert.equal(result.ok, true);
  if (!result.ok) return;
  const filter = result.value.modules[1];
  assert.equal(filter?.restartPolicy, 'on-unhealthy');
  assert.equal(filter?.version, '');
  assert.deepEqual(filter?.env, { EMPTY: '', NUM: '5' });
  assert.equal(result.value.systemModules.edgeHub?.restartPolicy, 'always');
});

test('process modules: command, args, cwd, env', () => {
  const result = parseAgentDesired({
    schemaVersion: '1.1',
    modules: {
      worker: { type: 'process', status: 'running', restartPolicy: 'on-failure', env: { A: { value: '1' } }, settings: { command: '/usr/bin/node', args: ['w.js'], cwd: '/srv' } },
      bare: { type: 'process', status: 'stopped', settings: { command: 'sleep' } },
    },
  });
  assert.equal(result.ok, true);
  if (!result.ok) return;
  assert.deepEqual(result.value.modules.map((m) => m.settings), [
    { kind: 'process', command: 'sleep', args: [] },
    { kind: 'process', command: '/usr/bin/node', args: ['w.js'], cwd: '/srv' },
  ]);
});

test('createOptions: chunks reassembled in order; blank/"null" -> {}; writer splits at 512 chars', () => {
  const problems = new Problems();
  assert.deepEqual(readCreateOptions({ image: 'x' }, 's', problems), {});
  assert.deepEqual(readCreateOptions({ createOptions: '' }, 's', problems), {});
  assert.deepEqual(readCreateOptions({ createOptions: 'null' }, 's', problems), {});
  assert.deepEqual(readCreateOptions({ createOptions02: '3}', CREATEOPTIONS: '{"a":', createOptions01: '[1,2,' }, 's', problems), undefined);
  assert.equal(problems.list.length, 1, 'createOptions01 content is not a JSON prefix: [1,2,3} is invalid');
  const good = new Problems();
  assert.deepEqual(readCreateOptions({ createOptions02: '3]}', createOptions: '{"a":', createOptions01: '[1,2,' }, 's', good), { a: [1, 2, 3] });
  assert.equal(good.empty, true);
  const big = { Env: Array.from({ length: 200 }, (_, i) => `VAR_${i}=value-${i}`) };
  const chunks = writeCreateOptions(big);
  assert.ok(Object.keys(chunks).length > 2);
  assert.ok(Object.values(chunks).every((c) => c.length <= 512));
  assert.deepEqual(readCreateOptions(chunks, 's', good), big);
});

test('image names: :latest added, registries with ports, credentials matched by registry address', () => {
  assert.deepEqual(normalizeImageName(' alpine '), { ok: true, image: 'alpine:latest' });
  assert.deepEqual(normalizeImageName('localhost:5000/team/app'), { ok: true, image: 'localhost:5000/team/app:latest' });
  assert.deepEqual(normalizeImageName('mcr.microsoft.com/azureiotedge-hub:1.5'), { ok: true, image: 'mcr.microsoft.com/azureiotedge-hub:1.5' });
  assert.equal(normalizeImageName('$upstream:443/azureiotedge-agent:1.5').ok, true);
  assert.equal(normalizeImageName('bad image').ok, false);
  const creds = [
    { address: 'https://myacr.azurecr.io/', username: 'u1', password: 'p' },
    { address: 'index.docker.io', username: 'u2', password: 'p' },
  ];
  assert.equal(credentialFor('MyAcr.azurecr.io/x:1', creds)?.username, 'u1');
  assert.equal(credentialFor('library/redis:7', creds)?.username, 'u2');
  assert.equal(credentialFor('other.io/x:1', creds), undefined);
});

test('$edgeHub desired: schema 1.0-1.3, route forms, priorities, required fields', () => {
  const ok = parseHubDesired({ schemaVersion: '1.0', routes: { a: 'FROM /* INTO $upstream', blank: ' ' } });
  assert.equal(ok.ok && Object.keys(ok.value.routes).join(), 'a');
  const v11 = parseHubDesired({ schemaVersion: '1.1', routes: { r: { route: 'FROM /* INTO $upstream', priority: 9 } }, storeAndForwardConfiguration: { timeToLiveSecs: -1, storeLimits: { maxSizeBytes: 1024 } } });
  assert.equal(v11.ok, true);
  if (v11.ok) assert.deepEqual(v11.value.storeAndForwardConfiguration, { timeToLiveSecs: -1, maxSizeBytes: 1024 });
  const bad = (desired: unknown): string => {
    const r = parseHubDesired(desired);
    assert.equal(r.ok, false);
    return r.ok ? '' : `${r.status.code} ${r.status.description}`;
  };
  assert.equal(bad({ routes: {} }), '400 Error while parsing desired properties - EdgeHub config missing SchemaVersion');
  assert.equal(bad({ schemaVersion: '1.4', routes: {} }), '400 Error while parsing desired properties - EdgeHub config contains unsupported SchemaVersion: 1.4');
  assert.equal(bad({ schemaVersion: '2.0' }), '400 Error while parsing desired properties - EdgeHub config contains unsupported SchemaVersion: 2.0');
  assert.match(bad({ schemaVersion: '1.0', routes: { r: { route: 'x' } } }), /Malformed route specification/);
  assert.match(bad({ schemaVersion: '1.1', routes: { r: 5 }, storeAndForwardConfiguration: {} }), /Malformed route specification: 5/);
  assert.match(bad({ schemaVersion: '1.1', routes: { r: { route: 'x', priority: 10 } }, storeAndForwardConfiguration: {} }), /Invalid priority for route: r, priority can only be between 0-9/);
  assert.match(bad({ schemaVersion: '1.1', routes: {} }), /storeAndForwardConfiguration is required/);
  assert.match(bad({ schemaVersion: '1.2', storeAndForwardConfiguration: {} }), /routes is required/);
  const v12 = parseHubDesired({ schemaVersion: '1.2', routes: {}, storeAndForwardConfiguration: { timeToLiveSecs: 10 }, mqttBroker: { bridges: [] } });
  assert.deepEqual(v12.ok && v12.value.mqttBroker, { bridges: [] });
});

test('module twin sections and the az deployment layout', () => {
  const doc = example();
  doc['modulesContent']['filtermodule'] = { 'properties.desired': { threshold: 30 } };
  doc['modulesContent']['broken'] = { desired: {} };
  const parsed = parseDeploymentManifest({ content: doc });
  assert.equal(parsed.agent.ok, true);
  assert.deepEqual(parsed.moduleTwins, { filtermodule: { threshold: 30 } });
  assert.deepEqual(parsed.moduleTwinProblems.map((p) => p.path), ['modulesContent.broken']);
});

test('reported diff: changed keys, nested objects, deletions as null; patch applies back', () => {
  const before = { a: 1, b: { c: 2, d: 3 }, e: [1], gone: true };
  const after = { a: 1, b: { c: 2, d: 4, x: { y: 1 } }, e: [1, 2] };
  const patch = reportedDiff(before, after);
  assert.deepEqual(patch, { b: { d: 4, x: { y: 1 } }, e: [1, 2], gone: null });
  assert.deepEqual(applyReportedPatch(before, patch), after);
  assert.deepEqual(reportedDiff(after, after), {});
});

test('the $edgeAgent twin (desired properties only) parses to the same shape', () => {
  const desired = { ...example()['modulesContent']['$edgeAgent']['properties.desired'], $version: 12 };
  const parsed = parseAgentTwinDesired(desired);
  assert.equal(parsed.agent.ok, true);
  assert.equal(parsed.agentDesiredVersion, 12);
  assert.deepEqual(parsed.moduleTwins, {});
  assert.equal(parseAgentTwinDesired({ $version: 3 }).agent.ok, false);
});
