import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteBuiltinError, compileCondition } from '../../../domain/routing/index.js';
import { JSON_SYS, ev, expectAll, expectError, message } from './helpers.js';

test('application properties are case-insensitive; a.b is one property name', () => {
  const m = message({ Temperature: '30', 'a.b': 'dotted', 'x-y': 'dash' });
  expectAll(
    [
      ["temperature = '30'", true],
      ["TEMPERATURE = '30'", true],
      ["Temperature = '30'", true],
      ["a.b = 'dotted'", true],
      ["A.B = 'dotted'", true],
      ["x-y = 'dash'", true],
      ["missing = 'x'", undefined],
    ],
    m,
  );
});

test('property names that look like Object.prototype members are just missing', () => {
  expectAll([
    ['is_defined(constructor)', false],
    ['is_defined(__proto__)', false],
    ['is_defined(toString)', false],
    ['is_defined($hasOwnProperty)', false],
  ]);
  expectAll([["constructor = 'c'", true]], message({ constructor: 'c' }));
});

test('$name reads system properties, case-insensitively', () => {
  const m = message({}, { connectionDeviceId: 'dev1', connectionModuleId: 'sensor', messageId: 'm1' });
  expectAll(
    [
      ["$connectionDeviceId = 'dev1'", true],
      ["$CONNECTIONDEVICEID = 'dev1'", true],
      ["$connectionModuleId = 'sensor'", true],
      ["$messageId = 'm1'", true],
      ["$userId = 'x'", undefined],
      ['is_defined($userId)', false],
      ["{$connectionModuleId} = 'sensor'", true],
    ],
    m,
  );
});

test('an application property literally named $name wins over the system property; {$name} skips it', () => {
  const m = message({ $connectionDeviceId: 'fromApp' }, { connectionDeviceId: 'fromSys' });
  expectAll(
    [
      ["$connectionDeviceId = 'fromApp'", true],
      ["{$connectionDeviceId} = 'fromSys'", true],
    ],
    m,
  );
  // a null-valued app property still wins
  expectAll([['is_null($connectionDeviceId)', true]], message({ $connectionDeviceId: null }, { connectionDeviceId: 'fromSys' }));
});

test('system property names with brackets are Undefined (typed undefined)', () => {
  expectAll([['is_defined($foo[0])', false]], message({}, { 'foo[0]': 'x' }));
});

test('null-valued and missing properties', () => {
  const m = message({ n: null }, { s: null });
  expectAll(
    [
      ['is_null(n)', true],
      ['is_defined(n)', true],
      ['is_null($s)', true],
      ['is_null(x)', false],
      ['is_defined(x)', false],
    ],
    m,
  );
});

const body = JSON.stringify({
  temp: 42.5,
  name: 'pump',
  ok: true,
  nothing: null,
  nested: { level: { deep: 'yes' } },
  arr: [10, { v: 'second' }, [1]],
  obj: { a: 1 },
  when: '2017-03-01T10:00:00Z',
  Case: 'upper',
});

test('$body queries: paths, array indexes, value types', () => {
  const m = message({}, { ...JSON_SYS }, body);
  expectAll(
    [
      ['$body.temp = 42.5', true],
      ['$body.temp > 40', true],
      ["$body.name = 'pump'", true],
      ['$body.ok = true', true],
      ['$body.ok', true],
      ['$body.nested.level.deep = \'yes\'', true],
      ['$body.arr[0] = 10', true],
      ["$body.arr[1].v = 'second'", true],
      ['$body.arr[9] = null', true],
      ['$body.missing = null', true],
      ['is_defined($body.missing)', true],
      // is_null: a JSON null is null, a missing path is not (issue #12.6; iotedge-semantics.md §12.5)
      ['is_null($body.missing)', false],
      ['is_null($body.nothing)', true],
      ['is_null($body.name)', false],
      ['is_defined($body.nothing)', true],
      ['is_null($body.obj)', undefined],
      ['$body.obj = 1', undefined], // objects are Undefined
      ['$body.arr = 1', undefined], // arrays too
      ['$body.arr[2] = 1', undefined],
      ['is_defined($body.obj)', false],
      ["$body.when = '2017-03-01T10:00:00Z'", undefined], // dates are Undefined
      ["$body.case = 'upper'", false], // JSON names are case-sensitive: missing => null, null <> string
      ["$body.Case = 'upper'", true],
      ["{$body.name} = 'pump'", true],
      ['$BODY.temp = 42.5', true],
      ['is_number($body.temp)', true],
      ['is_string($body.name)', true],
      ['is_bool($body.ok)', true],
      ["$body.temp * 2 = 85", true],
      ["- $body.temp = -42.5", true],
      ["$body.name || '!' = 'pump!'", true],
      ["upper($body.name) = 'PUMP'", true],
      ['as_number($body.temp) = 42.5', true],
      ['abs($body.name) = 1', undefined],
      ['$body.ok AND true', true],
      ['NOT $body.ok', false],
      ['($body.missing ?? 1) = null', true],
    ],
    m,
  );
});

test('$body comparisons across runtime types never raise errors (type order Bool < Number < String < Null)', () => {
  const m = message({}, { ...JSON_SYS }, body);
  expectAll(
    [
      ["$body.temp = '42.5'", false],
      ["$body.temp <> '42.5'", true],
      ["$body.temp < 'a'", true],
      ['$body.ok < 1', true],
      ["$body.name < null", true],
      ['$body.missing > 1', true],
      ['$body.temp = $body.temp', true],
      ['$body.name = $body.temp', false],
      ['$body.temp = missingProp', undefined],
    ],
    m,
  );
});

test('$body is gated on contentType application/json and a UTF contentEncoding', () => {
  const ok = (sys: Record<string, string | null>): boolean | undefined => ev("$body.name = 'pump'", message({}, sys, body));
  assert.equal(ok({ contentType: 'application/json', contentEncoding: 'utf-8' }), true);
  assert.equal(ok({ contentType: 'Application/JSON', contentEncoding: 'UTF-8' }), true);
  assert.equal(ok({ contenttype: 'application/json', CONTENTENCODING: 'utf-8' }), true);
  assert.equal(ok({ contentType: 'text/plain', contentEncoding: 'utf-8' }), undefined);
  assert.equal(ok({ contentType: 'application/json' }), undefined);
  assert.equal(ok({ contentEncoding: 'utf-8' }), undefined);
  assert.equal(ok({ contentType: 'application/json', contentEncoding: 'ascii' }), undefined);
  assert.equal(ok({}), undefined);
});

test('$body decodes utf-8, utf-16 and utf-32 byte bodies; bad JSON is Undefined', () => {
  const text = '{"name":"pümp"}';
  const utf8 = new TextEncoder().encode(text);
  const utf16 = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    utf16[i * 2] = text.charCodeAt(i) & 0xff;
    utf16[i * 2 + 1] = text.charCodeAt(i) >> 8;
  }
  const utf32 = new Uint8Array(text.length * 4);
  for (let i = 0; i < text.length; i++) utf32[i * 4] = text.charCodeAt(i) & 0xff;
  const q = "$body.name = 'pümp'";
  assert.equal(ev(q, message({}, { contentType: 'application/json', contentEncoding: 'utf-8' }, utf8)), true);
  assert.equal(ev(q, message({}, { contentType: 'application/json', contentEncoding: 'utf-16' }, utf16)), true);
  assert.equal(ev(q, message({}, { contentType: 'application/json', contentEncoding: 'utf-32' }, utf32)), true);
  assert.equal(ev(q, message({}, { ...JSON_SYS }, '{not json')), undefined);
  assert.equal(ev(q, message({}, { ...JSON_SYS }, new Uint8Array([0xff, 0xfe, 0x00]))), undefined);
  assert.equal(ev(q, message({}, { ...JSON_SYS })), undefined);
  assert.equal(ev('$body.x = 1', message({}, { ...JSON_SYS }, '[1,2]')), false);
  assert.equal(ev('$body.x = 1', message({}, { ...JSON_SYS }, '\ufeff{"x":1}')), true);
});

test('an application property named like a body query wins over the body', () => {
  const m = message({ '$body.name': 'fromApp' }, { ...JSON_SYS }, body);
  expectAll(
    [
      ["$body.name = 'fromApp'", true],
      ["{$body.name} = 'pump'", true],
    ],
    m,
  );
});

test('invalid $body paths are compile errors', () => {
  expectError('$body.a[x] = 1', RouteBuiltinError, /Invalid arguments to built-in function '\$body' at column 1: error in \$body query/);
  expectError('$body.a..b = 1', RouteBuiltinError, /error in \$body query/);
  expectError('$body.a[0][1] = 1', RouteBuiltinError, /error in \$body query/);
});

const twinBody = JSON.stringify({ version: 3, properties: { reported: { temp: 21, nested: { x: null } }, desired: { mode: 'eco' } }, tags: { site: 'a' } });
const twin = message({}, { messageType: 'twinChangeNotification', connectionModuleId: '$edgeHub' }, twinBody);

test('twin_change_includes: present is True, absent False, only for /twinChangeNotifications', () => {
  const source = '/twinChangeNotifications';
  expectAll(
    [
      ['twin_change_includes(properties.reported.temp)', true],
      ['twin_change_includes(properties.reported.nested)', true],
      ['twin_change_includes(properties.reported.nested.x)', false],
      ['twin_change_includes(properties.reported.other)', false],
      ['twin_change_includes(properties.desired.mode)', true],
      ['twin_change_includes(tags.site)', true],
      ['twin_change_includes(tags.nope)', false],
      ['TWIN_CHANGE_INCLUDES(properties.reported.temp)', true],
      ['twin_change_includes( properties.reported.temp /* c */ )', true],
      ['twin_change_includes(properties.reported.temp) AND NOT twin_change_includes(properties.desired.x)', true],
    ],
    twin,
    source,
  );
  assert.equal(ev('twin_change_includes(properties.reported.temp)', message({}, {}, 'not json'), source), undefined);
  assert.equal(ev('twin_change_includes(properties.reported.temp)', message({}, {}), source), undefined);
});

test('twin_change_includes errors', () => {
  const twinCompile = (t: string): unknown => compileCondition(t, { source: '/twinChangeNotifications' });
  expectError('twin_change_includes(properties.reported.temp)', RouteBuiltinError, /Invalid built-in function 'twin_change_includes' at column 1: it is only available in routes FROM \/twinChangeNotifications/);
  expectError('twin_change_includes(properties.reported.temp)', RouteBuiltinError, /only available/, (t) => compileCondition(t, { source: '/messages/*' }));
  expectError('twin_change_includes(version)', RouteBuiltinError, /Invalid arguments to built-in function 'twin_change_includes' at column 1: 'version' is not supported. Supported prefixes: 'properties.reported.', 'properties.desired.', 'tags.'/, twinCompile);
  expectError('twin_change_includes()', RouteBuiltinError, /argument cannot be empty/, twinCompile);
  expectError("twin_change_includes('properties.reported.a')", RouteBuiltinError, /is not supported. Supported prefixes/, twinCompile);
  expectError('twin_change_includes(properties.reported.)', RouteBuiltinError, /not a supported JSON path/, twinCompile);
  // twinChangeNotifications source is matched case-insensitively, with or without a trailing slash
  assert.equal(ev('twin_change_includes(properties.reported.temp)', twin, '/TwinChangeNotifications/'), true);
});
