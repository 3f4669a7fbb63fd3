import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RouteError, RouteTable, compileCondition, parseRoute, type ConditionMessage } from '../../../domain/routing/index.js';

/** Per-case bound: compiling and evaluating one input must take far less than this. */
const MAX_CASE_MS = 250;
const RUNS = 2000;

const FRAGMENTS = [
  'a', 'A', 'temp', 'a.b', '$x', '$connectionModuleId', '{$x}', '{', '}', '$body.t', '$body.a[0]', '$body.a.b', '$body', '$',
  '1', '-1', '0x1F', '0xFFFFFFFFFFFFFFFFF', '1.5e3', '.5', '1e999', "'s'", '"d"', "'un", "'\\u0041'", "'\\\\'",
  'true', 'false', 'null', 'undefined', '(', ')', ',', '+', '-', '*', '/', '%', '||', '??', '<', '<=', '>', '>=', '=', '==', '!=', '<>',
  'AND', 'or', 'NOT', '/*', '*/', '@', ';', '[', ']', 'SELECT', 'FROM', 'WHERE', 'INTO',
  'abs(', 'exp(', 'power(', 'square(', 'ceiling(', 'floor(', 'sign(', 'sqrt(', 'as_number(', 'is_bool(', 'is_defined(', 'is_null(',
  'is_number(', 'is_string(', 'concat(', 'length(', 'lower(', 'upper(', 'substring(', 'index_of(', 'starts_with(', 'ends_with(',
  'contains(', 'twin_change_includes(', 'properties.reported.x', 'nope(', ' ', '\n',
];

const tokenSoup = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 30 }).map((parts) => parts.join(' '));
const tightSoup = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 20 }).map((parts) => parts.join(''));

/** Well-formed (not necessarily well-typed) expressions, to reach evaluation often. */
const { expr } = fc.letrec<{ expr: string; leaf: string }>((tie) => ({
  leaf: fc.oneof(
    fc.constantFrom('temp', 'Temp', 'name', 'nul', 'missing', '$body.t', '$body.n', '$body.a[1]', '$body.o', '$connectionModuleId', '{$contentType}', '$t'),
    fc.constantFrom('1', '0', '-2.5', '30', '0x10', "'x'", "'30'", "''", 'true', 'false', 'null', 'undefined', '1 % 0', '1 / 0'),
    fc.integer({ min: -100, max: 100 }).map(String),
    fc.string({ maxLength: 5 }).map((s) => `'${s.replace(/['\\]/g, '')}'`),
  ),
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.tuple(tie('expr'), fc.constantFrom('+', '-', '*', '/', '%', '||', '<', '<=', '>', '>=', '=', '!=', '<>', 'AND', 'OR', '??'), tie('expr')).map(([l, op, r]) => `${l} ${op} ${r}`),
    tie('expr').map((e) => `(${e})`),
    tie('expr').map((e) => `NOT ${e}`),
    tie('expr').map((e) => `- ${e}`),
    fc
      .tuple(
        fc.constantFrom('abs', 'exp', 'power', 'square', 'ceiling', 'floor', 'sign', 'sqrt', 'as_number', 'is_bool', 'is_defined', 'is_null', 'is_number', 'is_string', 'concat', 'length', 'lower', 'upper', 'substring', 'index_of', 'starts_with', 'ends_with', 'contains'),
        fc.array(tie('expr'), { maxLength: 3 }),
      )
      .map(([f, args]) => `${f}(${args.join(', ')})`),
  ),
}));

const text = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 40 }), tokenSoup, tightSoup, expr, expr, expr);

const propValue = fc.option(fc.oneof(fc.constantFrom('30', '31.5', 'sensor', '', 'true', '1,000', ' 7 '), fc.string({ maxLength: 8 })), { nil: null, freq: 5 });
const propKey = fc.constantFrom('temp', 'TEMP', 'name', 'nul', '$connectionModuleId', '$body.t', 't', 'constructor', '__proto__', 'a.b');
const body = fc.option(
  fc.oneof(
    fc.constantFrom('{"t":31,"n":"x","a":[1,"two",{"x":null}],"o":{"p":true}}', '{"t":"2017-01-01T00:00:00Z"}', '[1,2]', 'null', '{bad', ''),
    fc.json(),
    fc.uint8Array({ maxLength: 32 }),
    fc.string({ maxLength: 20 }),
  ),
  { nil: undefined },
);
const messageArb: fc.Arbitrary<ConditionMessage> = fc.record({
  properties: fc.dictionary(propKey, propValue, { maxKeys: 5 }),
  systemProperties: fc.record(
    {
      connectionModuleId: propValue,
      contentType: fc.constantFrom('application/json', 'APPLICATION/JSON', 'text/plain', null),
      contentEncoding: fc.constantFrom('utf-8', 'UTF-16', 'utf-32', 'ascii', null),
      messageType: fc.constantFrom('twinChangeNotification', 'telemetry'),
    },
    { requiredKeys: [] },
  ),
  body,
}).map((m) => (m.body === undefined ? { properties: m.properties, systemProperties: m.systemProperties } : { properties: m.properties, systemProperties: m.systemProperties, body: m.body }));

function onlyTypedErrors(run: () => void): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof RouteError)) throw error;
    assert.equal(typeof error.code, 'string');
  }
}

test('compileCondition on random text and messages: a result or a typed error, quickly', () => {
  fc.assert(
    fc.property(text, fc.constantFrom('/messages', '/twinChangeNotifications'), fc.array(messageArb, { maxLength: 3 }), (condition, source, messages) => {
      const start = performance.now();
      onlyTypedErrors(() => {
        const compiled = compileCondition(condition, { source });
        for (const m of messages) {
          const result = compiled.evaluate(m);
          assert.ok(result === true || result === false || result === undefined, `unexpected result ${String(result)}`);
        }
      });
      assert.ok(performance.now() - start < MAX_CASE_MS, `took too long: ${condition}`);
    }),
    { numRuns: RUNS },
  );
});

test('parseRoute and RouteTable on random routes: a result or a typed error, quickly', () => {
  const routeText = fc.oneof(
    text,
    fc.tuple(fc.constantFrom('/*', '/messages/*', '/twinChangeNotifications', '/messages/modules/m/outputs/*'), text, fc.constantFrom('$upstream', 'BrokeredEndpoint("/modules/a/inputs/b")', "brokeredendpoint('x')", '$local')).map(
      ([src, cond, sink]) => `FROM ${src} WHERE ${cond} INTO ${sink}`,
    ),
  );
  fc.assert(
    fc.property(routeText, messageArb, fc.constantFrom('/messages', '/messages/modules/m/outputs/o', '/twinChangeNotifications'), (route, m, source) => {
      const start = performance.now();
      onlyTypedErrors(() => {
        parseRoute(route);
      });
      onlyTypedErrors(() => {
        const table = RouteTable.compile({ r: route, s: { route, priority: 1 } });
        const matches = table.match({ ...m, source });
        assert.ok(matches.length <= 1);
      });
      assert.ok(performance.now() - start < MAX_CASE_MS, `took too long: ${route}`);
    }),
    { numRuns: RUNS },
  );
});

test('well-typed random conditions agree between compileCondition and a route table', () => {
  fc.assert(
    fc.property(expr, messageArb, (condition, m) => {
      let compiled;
      try {
        compiled = compileCondition(condition);
      } catch (error) {
        if (error instanceof RouteError) return;
        throw error;
      }
      const table = RouteTable.compile({ r: `FROM /messages/* WHERE ${condition} INTO $upstream` });
      assert.equal(table.match({ ...m, source: '/messages' }).length === 1, compiled.evaluate(m) === true);
    }),
    { numRuns: 1000 },
  );
});
