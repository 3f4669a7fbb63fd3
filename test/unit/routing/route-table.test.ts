import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_ROUTE_PRIORITY,
  RouteError,
  RouteSpecError,
  RouteSyntaxError,
  RouteTable,
  RouteTypeError,
  messageSource,
  type RoutableMessage,
  type RouteMatch,
} from '../../../domain/routing/index.js';
import { normalizeRouteSource, sourceMatches } from '../../../domain/routing/message-source.js';
import { JSON_SYS } from './helpers.js';

function msg(source: string, properties: Record<string, string | null> = {}, systemProperties: Record<string, string | null> = {}, body?: string): RoutableMessage {
  return body === undefined ? { source, properties, systemProperties } : { source, properties, systemProperties, body };
}

const names = (matches: RouteMatch[]): string[] => matches.map((m) => m.route).sort();

test('messageSource follows edgeHub: twin changes, module outputs, modules, devices', () => {
  assert.equal(messageSource({ messageType: 'twinChangeNotification', connectionModuleId: '$edgeHub' }), '/twinChangeNotifications');
  assert.equal(messageSource({ connectionDeviceId: 'd', connectionModuleId: 'm', outputName: 'o' }), '/messages/modules/m/outputs/o');
  assert.equal(messageSource({ connectionDeviceId: 'd', connectionModuleId: 'm' }), '/messages/modules/m');
  assert.equal(messageSource({ connectionDeviceId: 'd', connectionModuleId: 'm', outputName: null }), '/messages/modules/m');
  assert.equal(messageSource({ connectionDeviceId: 'd' }), '/messages');
  assert.equal(messageSource({}), '/messages');
  assert.equal(messageSource({ connectionmoduleid: 'm', OUTPUTNAME: 'o' }), '/messages/modules/m/outputs/o');
});

test('source normalization and segment-prefix matching, case-insensitive', () => {
  assert.equal(normalizeRouteSource('/*'), '/');
  assert.equal(normalizeRouteSource('/messages/*'), '/messages/');
  assert.equal(normalizeRouteSource('/messages'), '/messages/');
  assert.equal(normalizeRouteSource(' /Messages/Modules/M/ '), '/messages/modules/m/');
  const cases: Array<[string, string, boolean]> = [
    ['/*', '/messages', true],
    ['/*', '/twinChangeNotifications', true],
    ['/messages/*', '/messages', true],
    ['/messages/*', '/messages/modules/m/outputs/o', true],
    ['/messages/*', '/twinChangeNotifications', false],
    ['/messages/modules/*', '/messages', false],
    ['/messages/modules/*', '/messages/modules/m', true],
    ['/messages/modules/m/outputs/*', '/messages/modules/m', false],
    ['/messages/modules/m/outputs/*', '/messages/modules/m/outputs/o', true],
    ['/messages/modules/m/outputs/o', '/messages/modules/m/outputs/o', true],
    ['/messages/modules/m/outputs/o', '/messages/modules/m/outputs/o2', false],
    ['/messages/modules/m', '/messages/modules/mm', false],
    ['/Messages/Modules/M/*', '/messages/modules/m/outputs/o', true],
    ['/messages/modules/m/*', '/MESSAGES/MODULES/M/OUTPUTS/O', true],
    ['/twinChangeNotifications', '/twinChangeNotifications', true],
    ['/messages/*', '/messages/', true],
  ];
  for (const [route, source, expected] of cases) assert.equal(sourceMatches(normalizeRouteSource(route), source), expected, `${route} vs ${source}`);
});

test('route table: string and object specs, defaults, size, endpoints', () => {
  const table = RouteTable.compile({
    r1: 'FROM /messages/* INTO $upstream',
    r2: { route: 'FROM /messages/modules/a/outputs/* INTO BrokeredEndpoint("/modules/b/inputs/in1")', priority: 3, timeToLiveSecs: 60 },
    blank: '   ',
  });
  assert.equal(table.size, 2);
  const matches = table.match(msg('/messages/modules/a/outputs/out1'));
  assert.deepEqual(
    matches.map((m) => ({ ...m })),
    [
      { endpoint: { type: 'module', id: 'b/in1', module: 'b', input: 'in1' }, priority: 3, timeToLiveSecs: 60, route: 'r2' },
      { endpoint: { type: 'upstream', id: '$upstream' }, priority: DEFAULT_ROUTE_PRIORITY, timeToLiveSecs: 0, route: 'r1' },
    ],
  );
  assert.deepEqual(names(table.match(msg('/messages'))), ['r1']);
  assert.deepEqual(table.match(msg('/twinChangeNotifications')), []);
});

test('route table: one delivery per endpoint, lowest priority number wins with its TTL', () => {
  const table = RouteTable.compile({
    low: { route: 'FROM /messages/* INTO $upstream', priority: 5, timeToLiveSecs: 500 },
    high: { route: "FROM /messages/* WHERE a = 'x' INTO $upstream", priority: 1, timeToLiveSecs: 100 },
    dflt: 'FROM /* INTO $upstream',
    zero: { route: "FROM /messages/* WHERE a = 'z' INTO $upstream", priority: 0 },
    other: 'FROM /* INTO BrokeredEndpoint("/modules/m/inputs/i")',
    other2: { route: 'FROM /* INTO BrokeredEndpoint(\'/modules/m/inputs/i\')', priority: 9 },
  });
  const up = (m: RouteMatch[]): RouteMatch | undefined => m.find((x) => x.endpoint.type === 'upstream');
  let r = table.match(msg('/messages', { a: 'x' }));
  assert.equal(r.length, 2);
  assert.deepEqual([up(r)?.route, up(r)?.priority, up(r)?.timeToLiveSecs], ['high', 1, 100]);
  assert.equal(r.find((x) => x.endpoint.type === 'module')?.route, 'other2');
  r = table.match(msg('/messages', { a: 'y' }));
  assert.deepEqual([up(r)?.route, up(r)?.priority, up(r)?.timeToLiveSecs], ['low', 5, 500]);
  r = table.match(msg('/messages', { A: 'z' }));
  assert.deepEqual([up(r)?.route, up(r)?.priority, up(r)?.timeToLiveSecs], ['zero', 0, 0]);
  r = table.match(msg('/twinChangeNotifications'));
  assert.deepEqual([up(r)?.route, up(r)?.priority], ['dflt', DEFAULT_ROUTE_PRIORITY]);
});

test('route table: equal priorities keep the first route', () => {
  const table = RouteTable.compile({ first: 'FROM /* INTO $upstream', second: 'FROM /messages/* INTO $upstream' });
  assert.deepEqual(names(table.match(msg('/messages'))), ['first']);
});

test('route table: Undefined and False conditions do not match', () => {
  const table = RouteTable.compile({
    undef: "FROM /* WHERE missing = 'x' INTO BrokeredEndpoint('/modules/a/inputs/1')",
    falsy: "FROM /* WHERE 1 = 2 INTO BrokeredEndpoint('/modules/a/inputs/2')",
    number: "FROM /* WHERE 1 INTO BrokeredEndpoint('/modules/a/inputs/3')",
    yes: "FROM /* WHERE 1 = 1 INTO BrokeredEndpoint('/modules/a/inputs/4')",
  });
  assert.deepEqual(names(table.match(msg('/messages'))), ['yes']);
});

test('route table: body queries and twin_change_includes, body parsed once per message', () => {
  const table = RouteTable.compile({
    hot: "FROM /messages/* WHERE $body.temp > 30 INTO BrokeredEndpoint('/modules/alert/inputs/hot')",
    pump: "FROM /messages/* WHERE $body.name = 'pump' INTO $upstream",
    twin: 'FROM /twinChangeNotifications WHERE twin_change_includes(properties.reported.temp) INTO BrokeredEndpoint("/modules/t/inputs/twin")',
  });
  let parses = 0;
  const realParse = JSON.parse;
  JSON.parse = ((text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
    parses++;
    return realParse(text, reviver);
  }) as typeof JSON.parse;
  try {
    assert.deepEqual(names(table.match(msg('/messages', {}, { ...JSON_SYS }, '{"temp":40,"name":"pump"}'))), ['hot', 'pump']);
    assert.equal(parses, 1);
  } finally {
    JSON.parse = realParse;
  }
  assert.deepEqual(names(table.match(msg('/twinChangeNotifications', {}, {}, '{"properties":{"reported":{"temp":1}}}'))), ['twin']);
  assert.deepEqual(names(table.match(msg('/twinChangeNotifications', {}, {}, '{"properties":{"reported":{}}}'))), []);
});

test('route table: errors name the route ("Error parsing route {name} - {msg}")', () => {
  const check = (routes: Parameters<typeof RouteTable.compile>[0], cls: new (...a: never[]) => RouteError, pattern: RegExp): void => {
    try {
      RouteTable.compile(routes);
      assert.fail('should throw');
    } catch (error) {
      assert.ok(error instanceof cls, String(error));
      assert.match((error as Error).message, pattern);
    }
  };
  check({ ok: 'FROM /* INTO $upstream', bad: 'FROM /* WHERE a == b INTO $upstream' }, RouteSyntaxError, /^Error parsing route bad - Syntax error at column 17 near '=='/);
  check({ bad: "FROM /* WHERE 'a' + 1 = 2 INTO $upstream" }, RouteTypeError, /^Error parsing route bad - Type error at column 19: Operator '\+' needs two numbers, got string and number$/);
  check({ p: { route: 'FROM /* INTO $upstream', priority: 10 } }, RouteSpecError, /^Error parsing route p - Invalid priority for route: FROM \/\* INTO \$upstream, priority can only be between 0-9$/);
  check({ p: { route: 'FROM /* INTO $upstream', priority: -1 } }, RouteSpecError, /Invalid priority for route/);
  check({ p: { route: 'FROM /* INTO $upstream', priority: 1.5 } }, RouteSpecError, /Invalid priority for route/);
  check({ t: { route: 'FROM /* INTO $upstream', timeToLiveSecs: -5 } }, RouteSpecError, /Error parsing route t - Invalid timeToLiveSecs/);
  check({ m: 42 as unknown as string }, RouteSpecError, /Error parsing route m - Malformed route specification/);
  check({ '': 'FROM /* INTO $upstream' }, RouteSpecError, /Route name cannot be empty/);
  check({ s: 'FROM /* INTO $local' }, RouteSpecError, /Error parsing route s - Unsupported system endpoint/);
  try {
    RouteTable.compile({ bad: 'FROM /* WHERE a == b INTO $upstream' });
  } catch (error) {
    assert.ok(error instanceof RouteError);
    assert.equal(error.routeName, 'bad');
    assert.equal(error.column, 17);
    assert.equal(error.code, 'ROUTE_SYNTAX');
  }
});

test('route table: priority 2000000000 (the default) is accepted explicitly', () => {
  const table = RouteTable.compile({ r: { route: 'FROM /* INTO $upstream', priority: DEFAULT_ROUTE_PRIORITY } });
  assert.equal(table.match(msg('/messages'))[0]?.priority, DEFAULT_ROUTE_PRIORITY);
});

test('route table: many sources and routes, cached candidates stay correct', () => {
  const routes: Record<string, string> = {};
  for (let i = 0; i < 100; i++) routes[`r${i}`] = `FROM /messages/modules/m${i % 10}/* WHERE as_number(n) > ${i} INTO BrokeredEndpoint("/modules/s/inputs/i${i}")`;
  const table = RouteTable.compile(routes);
  for (let round = 0; round < 3; round++) {
    for (let m = 0; m < 10; m++) {
      const got = names(table.match(msg(`/messages/modules/m${m}/outputs/o`, { n: '50' })));
      const expected = Array.from({ length: 100 }, (_, i) => i)
        .filter((i) => i % 10 === m && 50 > i)
        .map((i) => `r${i}`)
        .sort();
      assert.deepEqual(got, expected);
    }
  }
});

test('routes as written in Azure IoT Edge documentation and deployments', () => {
  const table = RouteTable.compile({
    sensorToAIInsightsInput1: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/ai_insights/inputs/input1")',
    AIInsightsToIoTHub: 'FROM /messages/modules/ai_insights/outputs/output1 INTO $upstream',
    opcPublisherToProcessingModule: 'FROM /messages/modules/publisher INTO BrokeredEndpoint("/modules/processingModule/inputs/input1")',
    sensorToFilter: 'FROM /messages/modules/SimulatedTemperatureSensor/outputs/temperatureOutput INTO BrokeredEndpoint("/modules/filtermodule/inputs/input1")',
  });
  const route = (sys: Record<string, string | null>): string[] => names(table.match({ source: messageSource(sys), properties: {}, systemProperties: sys }));
  assert.deepEqual(route({ connectionDeviceId: 'sensor' }), ['sensorToAIInsightsInput1']);
  assert.deepEqual(route({ connectionDeviceId: 'edge', connectionModuleId: 'ai_insights', outputName: 'output1' }), ['AIInsightsToIoTHub']);
  assert.deepEqual(route({ connectionDeviceId: 'edge', connectionModuleId: 'publisher' }), ['opcPublisherToProcessingModule']);
  assert.deepEqual(route({ connectionDeviceId: 'edge', connectionModuleId: 'publisher', outputName: 'o' }), ['opcPublisherToProcessingModule']);
  assert.deepEqual(route({ connectionDeviceId: 'edge', connectionModuleId: 'SimulatedTemperatureSensor', outputName: 'temperatureOutput' }), ['sensorToFilter']);
  assert.deepEqual(route({ connectionDeviceId: 'edge', connectionModuleId: 'simulatedtemperaturesensor', outputName: 'TEMPERATUREOUTPUT' }), ['sensorToFilter']);
});
