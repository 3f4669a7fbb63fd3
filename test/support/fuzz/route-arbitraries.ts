/**
 * fast-check arbitraries for the route and condition language: token soups, well-formed (not
 * necessarily well-typed) expressions, whole routes and messages. Shared by the routing property
 * tests (fixed run counts) and the time-bounded fuzzer (`test/fuzz/route-parser.test.ts`).
 */
import fc from 'fast-check';
import type { ConditionMessage } from '../../../domain/routing/index.js';

export const FRAGMENTS = [
  'a', 'A', 'temp', 'a.b', '$x', '$connectionModuleId', '{$x}', '{', '}', '$body.t', '$body.a[0]', '$body.a.b', '$body', '$',
  '1', '-1', '0x1F', '0xFFFFFFFFFFFFFFFFF', '1.5e3', '.5', '1e999', "'s'", '"d"', "'un", "'\\u0041'", "'\\\\'",
  'true', 'false', 'null', 'undefined', '(', ')', ',', '+', '-', '*', '/', '%', '||', '??', '<', '<=', '>', '>=', '=', '==', '!=', '<>',
  'AND', 'or', 'NOT', '/*', '*/', '@', ';', '[', ']', 'SELECT', 'FROM', 'WHERE', 'INTO',
  'abs(', 'exp(', 'power(', 'square(', 'ceiling(', 'floor(', 'sign(', 'sqrt(', 'as_number(', 'is_bool(', 'is_defined(', 'is_null(',
  'is_number(', 'is_string(', 'concat(', 'length(', 'lower(', 'upper(', 'substring(', 'index_of(', 'starts_with(', 'ends_with(',
  'contains(', 'twin_change_includes(', 'properties.reported.x', 'nope(', ' ', '\n',
];

export const tokenSoup = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 30 }).map((parts) => parts.join(' '));
export const tightSoup = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 20 }).map((parts) => parts.join(''));

/** Well-formed (not necessarily well-typed) expressions, to reach evaluation often. */
export const { expr } = fc.letrec<{ expr: string; leaf: string }>((tie) => ({
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

export const text = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 40 }), tokenSoup, tightSoup, expr, expr, expr);

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
export const messageArb: fc.Arbitrary<ConditionMessage> = fc.record({
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

/** Whole routes: random text, or FROM/WHERE/INTO around a random condition and a random sink. */
export const routeText = fc.oneof(
  text,
  fc.tuple(fc.constantFrom('/*', '/messages/*', '/twinChangeNotifications', '/messages/modules/m/outputs/*'), text, fc.constantFrom('$upstream', 'BrokeredEndpoint("/modules/a/inputs/b")', "brokeredendpoint('x')", '$local')).map(
    ([src, cond, sink]) => `FROM ${src} WHERE ${cond} INTO ${sink}`,
  ),
);
