import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileCondition, parseRoute, RouteSyntaxError, RouteSpecError, RouteTypeError, RouteBuiltinError, RouteError } from '../../../domain/routing/index.js';
import { tokenize, TokenKind } from '../../../domain/routing/lexer.js';
import { ev, expectAll, expectError } from './helpers.js';

test('route: minimal FROM ... INTO $upstream, condition "true" without WHERE', () => {
  assert.deepEqual(parseRoute('FROM /messages/* INTO $upstream'), { source: '/messages/*', condition: 'true', sink: { type: 'upstream' }, warnings: [] });
});

test('route: SELECT *, case-insensitive keywords and sinks', () => {
  for (const text of [
    'SELECT * FROM /messages/* INTO $upstream',
    'select * from /messages/* into $UPSTREAM',
    'SeLeCt   *   FrOm /messages/*   InTo $Upstream',
    'from /messages/* into $upstream',
  ]) {
    assert.deepEqual(parseRoute(text), { source: '/messages/*', condition: 'true', sink: { type: 'upstream' }, warnings: [] }, text);
  }
});

test('route: BrokeredEndpoint with double or single quotes, any case, slashes trimmed', () => {
  const expected = { type: 'module', module: 'filter', input: 'input1' };
  assert.deepEqual(parseRoute('FROM /messages/* INTO BrokeredEndpoint("/modules/filter/inputs/input1")').sink, expected);
  assert.deepEqual(parseRoute("FROM /messages/* INTO brokeredendpoint('/modules/filter/inputs/input1')").sink, expected);
  assert.deepEqual(parseRoute('FROM /messages/* INTO BROKEREDENDPOINT("modules/filter/inputs/input1/")').sink, expected);
});

test('route: condition is the exact WHERE text', () => {
  const r = parseRoute("FROM /messages/modules/sensor/outputs/out1 WHERE  temp = 'a'  AND /* c */ $x <> 'b'   INTO $upstream");
  assert.equal(r.source, '/messages/modules/sensor/outputs/out1');
  assert.equal(r.condition, "temp = 'a'  AND /* c */ $x <> 'b'");
});

test('route: sources', () => {
  assert.equal(parseRoute('FROM /* INTO $upstream').source, '/*');
  assert.equal(parseRoute('FROM /twinChangeNotifications INTO $upstream').source, '/twinChangeNotifications');
  assert.equal(parseRoute('FROM /messages/modules/* INTO $upstream').source, '/messages/modules/*');
  assert.equal(parseRoute('FROM /messages/modules/my-module.v2/outputs/* INTO $upstream').source, '/messages/modules/my-module.v2/outputs/*');
});

test('route: syntax errors name the column and the token', () => {
  const e = expectError('FROM /messages/* WHERE temp == 30 INTO $upstream', RouteSyntaxError, /^Syntax error at column 29 near '=='/, parseRoute);
  assert.equal(e.column, 29);
  assert.equal(e.line, 1);
  assert.equal(e.code, 'ROUTE_SYNTAX');
  expectError('FROM /messages/* WHERE INTO $upstream', RouteSyntaxError, /column 24 near 'INTO': expected a condition/, parseRoute);
  expectError('FROM messages INTO $upstream', RouteSyntaxError, /column 6 near 'messages'/, parseRoute);
  expectError('/messages INTO $upstream', RouteSyntaxError, /column 1 near '\/'/, parseRoute);
  expectError('FROM /messages', RouteSyntaxError, /\(end of input\)/, parseRoute);
  expectError('FROM /messages INTO', RouteSyntaxError, /\(end of input\)/, parseRoute);
  expectError('', RouteSyntaxError, /\(end of input\)/, parseRoute);
  expectError('FROM /messages INTO $upstream extra', RouteSyntaxError, /near 'extra'/, parseRoute);
  expectError('SELECT FROM /messages INTO $upstream', RouteSyntaxError, /near 'FROM': expected '\*' after SELECT/, parseRoute);
  expectError('FROM /messages WHERE a = @ INTO $upstream', RouteSyntaxError, /column 26 near '@': invalid symbol '@'/, parseRoute);
  expectError("FROM /messages WHERE a = 'x INTO $upstream", RouteSyntaxError, /unterminated string/, parseRoute);
  expectError('FROM /messages INTO BrokeredEndpoint("/modules/a/inputs/b"', RouteSyntaxError, /expected '\)'/, parseRoute);
  expectError('FROM /messages\nWHERE a == b INTO $upstream', RouteSyntaxError, /at line 2, column 9 near '=='/, parseRoute);
});

test('route: unsupported sinks and bad addresses', () => {
  expectError('FROM /messages INTO $local', RouteSpecError, /Unsupported system endpoint '\$local'/, parseRoute);
  expectError('FROM /messages INTO Endpoint("/modules/a/inputs/b")', RouteSpecError, /Unsupported endpoint function 'Endpoint'/, parseRoute);
  expectError('FROM /messages INTO BrokeredEndpoint("/modules/a/inputs")', RouteSpecError, /Invalid endpoint address '\/modules\/a\/inputs'/, parseRoute);
  expectError('FROM /messages INTO BrokeredEndpoint("/modules/a/inputs/b/c")', RouteSpecError, /Invalid endpoint address/, parseRoute);
});

test('route: the condition is type-checked and columns point into the route', () => {
  const e = expectError("FROM /messages WHERE 'a' + 3 = 4 INTO $upstream", RouteTypeError, /Type error at column 26: Operator '\+' needs two numbers, got string and number/, parseRoute);
  assert.equal(e.column, 26);
  expectError('FROM /messages WHERE twin_change_includes(properties.reported.a) INTO $upstream', RouteBuiltinError, /only available in routes FROM \/twinChangeNotifications/, parseRoute);
  assert.equal(parseRoute('FROM /twinChangeNotifications WHERE twin_change_includes(properties.reported.a) INTO $upstream').condition, 'twin_change_includes(properties.reported.a)');
});

test('lexer: longest match and rule order, as ANTLR', () => {
  const kinds = (text: string): string[] => tokenize(text).map((t) => `${t.kind}:${t.text}`);
  assert.deepEqual(kinds('true trueish TRUE'), ['TRUE:true', 'ID:trueish', 'ID:TRUE', 'EOF:']);
  assert.deepEqual(kinds('3-4'), ['ID:3-4', 'EOF:']);
  assert.deepEqual(kinds('3 - -4'), ['INTEGER_LITERAL:3', '-:-', 'INTEGER_LITERAL:-4', 'EOF:']);
  assert.deepEqual(kinds('a.b $x.y[0] {$z}'), ['ID:a.b', 'SYS_PROP:$x.y[0]', '{:{', 'SYS_PROP:$z', '}:}', 'EOF:']);
  assert.deepEqual(kinds('0x1F 1.5e3 .5 1e-2 -2.5'), ['HEX_INTEGER_LITERAL:0x1F', 'REAL_LITERAL:1.5e3', 'REAL_LITERAL:.5', 'REAL_LITERAL:1e-2', 'REAL_LITERAL:-2.5', 'EOF:']);
  assert.deepEqual(kinds('a/* comment */<>b'), ['ID:a', '<>:<>', 'ID:b', 'EOF:']);
  assert.deepEqual(kinds('and Or NOT'), ['AND:and', 'OR:Or', 'NOT:NOT', 'EOF:']);
  // ' is an ID character, so a quote glued to more text lexes as one (longer) ID, like in edgeHub.
  assert.deepEqual(kinds("'it''s'"), ["ID:'it''s'", 'EOF:']);
  assert.deepEqual(kinds("'it' 's'"), ["STRING:'it'", "STRING:'s'", 'EOF:']);
  assert.equal(tokenize('@')[0]?.kind, TokenKind.Unknown);
  const t = tokenize('a\n  bc');
  assert.deepEqual([t[1]?.line, t[1]?.column], [2, 3]);
});

test('literals: numbers, hex, reals, strings with escapes, booleans, null, undefined', () => {
  expectAll([
    ['10 = 10.0', true],
    ['0x10 = 16', true],
    ['0XfF = 255', true],
    ['0xFFFFFFFFFFFFFFFF = -1', true],
    ['1.5e3 = 1500', true],
    ['1E-2 = 0.01', true],
    ['.5 = 0.5', true],
    ['-2.5 = 0 - 2.5', true],
    ['2e0 = 2', true],
    ["'a\\'b' = \"a'b\"", true],
    ['"a\\"b" = \'a"b\'', true],
    ["'\\u0041\\\\' = 'A\\\\'", true],
    ["length('\\\\') = 1", true],
    ["'\\\\u0041' = '\\\\A'", true],
    ['true', true],
    ['false', false],
    ['null', false],
    ['undefined', undefined],
    ['3', undefined],
    ["'x'", undefined],
    ['', undefined],
    ['  /* only a comment */ ', undefined],
  ]);
  expectError('0x1FFFFFFFFFFFFFFFF = 1', RouteTypeError, /same type, got undefined and number/);
});

test('comments are ignored anywhere', () => {
  expectAll([
    ['/* a */ 1 /* b */ = /* c */ 1 /* d */', true],
    ['1 = /* multi\nline */ 1', true],
  ]);
});

test('precedence: * / % over + - ||, over comparisons, over equality, over AND, over OR, over ??', () => {
  expectAll([
    ['1 + 2 * 3 = 7', true],
    ['(1 + 2) * 3 = 9', true],
    ['10 - 4 - 3 = 3', true],
    ['24 / 4 / 2 = 3', true],
    ['7 % 4 * 2 = 6', true],
    ['2 * 3 % 4 = 2', true],
    ['1 + 2 < 4', true],
    ['1 < 2 = true', true],
    ['true = 1 < 2', true],
    ['true OR true AND false', true],
    ['(true OR true) AND false', false],
    ['false AND true OR true', true],
    ['- 2 * 3 = -6', true],
    ['- (2 + 3) = -5', true],
    ['1 - -2 = 3', true],
    ["'a' || 'b' = 'ab'", true],
    ['NOT false AND false', false],
    ['NOT (false AND false)', true],
    ['NOT true = false', true],
    ['NOT false = false', false],
  ]);
  // NOT binds tighter than '=': NOT a = b is (NOT a) = b, so a string operand is a type error.
  expectError("NOT 'a' = 'b'", RouteTypeError, /Operator 'NOT' needs a bool or null, got string/);
  // ?? is the loosest: a ?? b = c parses as a ?? (b = c)
  // ((false ?? 1) = 1 would be a type error)
  expectAll([['false ?? 1 = 1', false]]);
  expectError("'x' ?? 1 = 1", RouteTypeError, /Operator '\?\?' needs two operands of the same type, got string and bool/);
});

test('syntax errors in conditions', () => {
  expectError('a == b', RouteSyntaxError, /^Syntax error at column 3 near '==': '==' is not an operator/);
  expectError('(1 = 1', RouteSyntaxError, /\(end of input\): missing closing '\)'/);
  expectError('1 = 1)', RouteSyntaxError, /column 6 near '\)': unmatched closing '\)'/);
  expectError('1 +', RouteSyntaxError, /\(end of input\)/);
  // `3-4` is one property name (a string), so this compares a property with a number: accepted,
  // never true, and the warning names the property.
  assert.match(compileCondition('3-4 = 1').warnings[0]?.message ?? '', /condition can never match: property '3-4' is compared with a number/);
  expectError('a b', RouteSyntaxError, /near 'b'/);
  expectError('a[0] = 1', RouteSyntaxError, /near 'a\[0\]'/);
  expectError('a ! b', RouteSyntaxError, /.*/);
  expectError('abs(1,', RouteSyntaxError, /\(end of input\)/);
  expectError('abs(1 2)', RouteSyntaxError, /expected ',' or '\)' in the arguments of 'abs'/);
  expectError('{a}', RouteSyntaxError, /near 'a': expected a system property/);
  expectError('{$a', RouteSyntaxError, /expected '}'/);
  expectError('a = "x', RouteSyntaxError, /column 5 near '"x': unterminated string/);
  expectError('a = 1 ; b', RouteSyntaxError, /invalid symbol ';'/);
  expectError('SELECT', RouteSyntaxError, /near 'SELECT'/);
  expectError('1 = 1 INTO', RouteSyntaxError, /near 'INTO'/);
});

test('deep nesting is a typed error, not a stack overflow', () => {
  expectError('('.repeat(5000) + '1' + ')'.repeat(5000), RouteSyntaxError, /nested too deeply/);
  expectError('NOT '.repeat(5000) + 'true', RouteSyntaxError, /nested too deeply/);
  expectError(Array.from({ length: 5000 }, () => '1').join(' + ') + ' = 1', RouteSyntaxError, /nested too deeply/);
  assert.equal(ev(Array.from({ length: 100 }, () => '1').join(' + ') + ' = 100'), true);
});

test('every routing error is a RouteError with a code', () => {
  for (const text of ['a ==', "'a' + 1", 'nope()', "substring('a')"]) {
    try {
      ev(text);
      assert.fail('should throw');
    } catch (error) {
      assert.ok(error instanceof RouteError);
      assert.equal(typeof error.code, 'string');
      assert.equal(typeof error.column, 'number');
    }
  }
});
