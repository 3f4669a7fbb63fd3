import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable, compileCondition, formatRouteWarning, parseRoute, routeWarnings, messageSource } from '../../../domain/routing/index.js';
import { JSON_SYS, message } from './helpers.js';

// Issue #12.6: Azure accepts a route comparing an application property (a string) with a number
// (status 200) and the comparison is Undefined, so the condition never yields True.

test('a property compared with a number compiles, is Undefined and never True', () => {
  for (const text of ['temp > 100', 'temp >= 100', 'temp < 100', 'temp <= 100', 'temp = 150', 'temp != 150', 'temp <> 150', '100 < temp', '$temp > 100', '{$temp} > 100']) {
    const condition = compileCondition(text);
    for (const value of ['150', '50', '100', 'abc', null]) {
      assert.equal(condition.evaluate(message({ temp: value }, { temp: value })), undefined, `${text} with temp=${String(value)}`);
    }
    assert.equal(condition.evaluate(message()), undefined, `${text} without temp`);
    assert.equal(condition.warnings.length, 1, text);
    assert.equal(condition.warnings[0]?.code, 'ROUTE_NEVER_MATCHES', text);
  }
});

test('the issue\'s conditions: accepted, never matching, with a warning that says why and where', () => {
  const route = parseRoute("FROM /messages/* WHERE humidity = 'high' AND temp >= 200 INTO $upstream");
  assert.equal(route.condition, "humidity = 'high' AND temp >= 200");
  assert.equal(route.warnings.length, 1);
  const warning = route.warnings[0]!;
  assert.equal(warning.code, 'ROUTE_NEVER_MATCHES');
  assert.equal(warning.column, 51);
  assert.match(warning.message, /^condition can never match: property 'temp' is compared with a number at column 51, which is always undefined because message properties are strings; write as_number\(temp\) to compare it as a number$/);

  const table = RouteTable.compile({ hot: 'FROM /messages/* WHERE temp > 100 INTO $upstream', both: "FROM /messages/* WHERE humidity = 'high' AND temp >= 200 INTO BrokeredEndpoint(\"/modules/f/inputs/i\")" });
  const sys = { connectionDeviceId: 'd' };
  for (const temp of ['101', '250', '1e9']) {
    assert.deepEqual(table.match({ source: messageSource(sys), properties: { temp, humidity: 'high' }, systemProperties: sys }), [], `temp=${temp}`);
  }
  assert.deepEqual(
    table.warnings.map((w) => [w.route, w.code]),
    [
      ['hot', 'ROUTE_NEVER_MATCHES'],
      ['both', 'ROUTE_NEVER_MATCHES'],
    ],
  );
  assert.match(formatRouteWarning(table.warnings[0]!), /^route hot: condition can never match: property 'temp'/);
});

test('three-valued logic still applies around an Undefined comparison', () => {
  const either = compileCondition("temp > 100 OR humidity = 'high'");
  assert.equal(either.evaluate(message({ temp: '150', humidity: 'high' })), true);
  assert.equal(either.evaluate(message({ temp: '150', humidity: 'low' })), undefined);
  assert.deepEqual(
    either.warnings.map((w) => w.code),
    ['ROUTE_UNDEFINED_COMPARISON'],
  );
  assert.match(either.warnings[0]!.message, /^part of the condition can never be true: property 'temp'/);
  assert.equal(compileCondition('NOT (temp > 100)').evaluate(message({ temp: '1' })), undefined);
  assert.equal(compileCondition("temp > 100 AND humidity = 'low'").evaluate(message({ temp: '1', humidity: 'high' })), false);
  assert.equal(compileCondition('NOT (temp > 100)').warnings[0]?.code, 'ROUTE_NEVER_MATCHES');
});

test('a property compared with a bool is accepted the same way; the hint says to compare strings', () => {
  const condition = compileCondition('enabled = true');
  assert.equal(condition.evaluate(message({ enabled: 'true' })), undefined);
  assert.match(condition.warnings[0]!.message, /property 'enabled' is compared with a bool at column 9, .*compare it with the string 'true' or 'false' instead/);
  assert.equal(compileCondition("enabled = 'true'").evaluate(message({ enabled: 'true' })), true);
});

test('conditions that can match give no warning; constant never-true conditions do', () => {
  for (const text of ['as_number(temp) > 100', "humidity = 'high'", '$body.temp > 100', 'true', 'is_defined(temp)']) {
    assert.deepEqual(compileCondition(text).warnings, [], text);
  }
  assert.equal(compileCondition('as_number(temp) > 100').evaluate(message({ temp: '150' })), true);
  assert.match(compileCondition('false').warnings[0]!.message, /^condition can never match: it is always false or undefined$/);
});

test('routeWarnings: condition warnings plus routes into $upstream when no upstream is configured', () => {
  const routes = { up: 'FROM /messages/* INTO $upstream', local: 'FROM /messages/* WHERE temp > 1 INTO BrokeredEndpoint("/modules/m/inputs/i")' };
  assert.deepEqual(
    routeWarnings(routes).map((w) => [w.route, w.code]),
    [['local', 'ROUTE_NEVER_MATCHES']],
  );
  const withoutUpstream = routeWarnings(routes, { upstream: false });
  assert.deepEqual(
    withoutUpstream.map((w) => [w.route, w.code]),
    [
      ['local', 'ROUTE_NEVER_MATCHES'],
      ['up', 'ROUTE_NO_UPSTREAM'],
    ],
  );
  assert.match(formatRouteWarning(withoutUpstream[1]!), /^route up: sends to \$upstream but no upstream is configured \(upstream.kind = "none"\)/);
  assert.deepEqual(routeWarnings(routes, { upstream: true }), routeWarnings(routes));
  assert.deepEqual(routeWarnings(RouteTable.compile(routes)), routeWarnings(routes));
});

test('is_null($body.x) is True for a JSON null, False for a missing path or a value; is_defined as Azure', () => {
  const body = JSON.stringify({ x: null, y: 3, s: 'a', o: { p: null }, a: [null, 1] });
  const m = message({}, { ...JSON_SYS }, body);
  const cases: Array<[string, boolean | undefined]> = [
    ['is_null($body.x)', true],
    ['is_null($body.o.p)', true],
    ['is_null($body.a[0])', true],
    ['is_null($body.y)', false],
    ['is_null($body.s)', false],
    ['is_null($body.missing)', false],
    ['is_null($body.o.missing)', false],
    ['is_null($body.a[5])', false],
    ['is_null({$body.x})', true],
    ['is_null($body.o)', undefined],
    ['is_defined($body.x)', true],
    ['is_defined($body.missing)', true],
    ['is_defined($body.o)', false],
    ['$body.x = null', true],
  ];
  for (const [condition, expected] of cases) assert.equal(compileCondition(condition).evaluate(m), expected, condition);
  // Not JSON (no content type): Undefined, as every body query.
  assert.equal(compileCondition('is_null($body.x)').evaluate(message({}, {}, body)), undefined);
  // An application property literally named `$body.x` still wins.
  assert.equal(compileCondition('is_null($body.x)').evaluate(message({ '$body.x': 'v' }, { ...JSON_SYS }, body)), false);
  assert.equal(compileCondition('is_null($body.y)').evaluate(message({ '$body.y': null }, { ...JSON_SYS }, body)), true);
});
