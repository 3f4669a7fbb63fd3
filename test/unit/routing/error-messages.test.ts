import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteError, RouteSpecError, RouteSyntaxError, RouteTable, compileCondition, parseRoute } from '../../../domain/routing/index.js';

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof RouteError, `not a RouteError: ${String(error)}`);
    return error.message;
  }
  assert.fail('expected an error');
}

test('condition syntax error messages, exactly', () => {
  const cases: Array<[string, string]> = [
    ['a == b', "Syntax error at column 3 near '==': '==' is not an operator, use '=' to compare"],
    ['(a', "Syntax error at column 3 (end of input): missing closing ')' for '(' at column 1"],
    ["a = 'b')", "Syntax error at column 8 near ')': unmatched closing ')'"],
    ['a = @', "Syntax error at column 5 near '@': invalid symbol '@'"],
    ["a = 'b", "Syntax error at column 5 near ''b': unterminated string"],
    ['a[1] = 2', "Syntax error at column 1 near 'a[1]': '[' and ']' are only allowed in $body queries ($body.a[0])"],
    ['a =', 'Syntax error at column 4 (end of input): expected a value, property, function call or ( expression )'],
    ['a b', "Syntax error at column 3 near 'b': expected an operator or the end of the condition"],
    ['abs(1 2)', "Syntax error at column 7 near '2': expected ',' or ')' in the arguments of 'abs'"],
    ['{a}', "Syntax error at column 2 near 'a': expected a system property such as '$connectionDeviceId' inside '{ }'"],
    ['{$a $b', "Syntax error at column 5 near '$b': expected '}'"],
    ['a = 1\n  AND b == 2', "Syntax error at line 2, column 9 near '==': '==' is not an operator, use '=' to compare"],
    ['('.repeat(300) + '1' + ')'.repeat(300), "Syntax error at column 201 near '(': condition is nested too deeply (more than 200 levels)"],
  ];
  for (const [text, expected] of cases) assert.equal(messageOf(() => compileCondition(text)), expected, text);
});

test('route syntax error messages, exactly', () => {
  const cases: Array<[string, string]> = [
    ['SELECT x FROM /a INTO $upstream', "Syntax error at column 8 near 'x': expected '*' after SELECT"],
    ['INTO $upstream', "Syntax error at column 1 near 'INTO': a route starts with FROM (or SELECT * FROM)"],
    ['FROM a INTO $upstream', "Syntax error at column 6 near 'a': expected a source path such as '/messages/*'"],
    ['FROM / INTO $upstream', "Syntax error at column 8 near 'INTO': expected a path segment or '*' after '/'"],
    ['FROM /a WHERE INTO $upstream', "Syntax error at column 15 near 'INTO': expected a condition after WHERE"],
    ['FROM /a WHERE x $upstream', "Syntax error at column 17 near '$upstream': expected an operator or INTO"],
    ['FROM /a $upstream', "Syntax error at column 9 near '$upstream': expected WHERE or INTO after the source"],
    ['FROM /a INTO 42', "Syntax error at column 14 near '42': expected $upstream or BrokeredEndpoint(\"/modules/<module>/inputs/<input>\") after INTO"],
    ['FROM /a INTO $upstream $upstream', "Syntax error at column 24 near '$upstream': expected the end of the route after the sink"],
    ['FROM /a INTO BrokeredEndpoint(x)', 'Syntax error at column 31 near \'x\': expected a quoted endpoint address such as "/modules/filter/inputs/input1"'],
  ];
  for (const [text, expected] of cases) assert.equal(messageOf(() => parseRoute(text)), expected, text);
});

test('sink and spec error messages, exactly', () => {
  assert.equal(messageOf(() => parseRoute('FROM /a INTO $cloud')), "Unsupported system endpoint '$cloud' at column 14: the only one is $upstream");
  assert.equal(
    messageOf(() => parseRoute('FROM /a INTO Queue("x")')),
    'Unsupported endpoint function \'Queue\' at column 14: use BrokeredEndpoint("/modules/<module>/inputs/<input>")',
  );
  assert.equal(
    messageOf(() => parseRoute('FROM /a INTO BrokeredEndpoint("/modules//inputs/i")')),
    'Invalid endpoint address \'/modules//inputs/i\' at column 31: expected "/modules/<module>/inputs/<input>"',
  );
  assert.equal(messageOf(() => RouteTable.compile(null as unknown as Record<string, string>)), 'Routes must be an object of route name to route specification');
  assert.equal(
    messageOf(() => RouteTable.compile({ r: { route: 'FROM /a INTO $upstream', timeToLiveSecs: 1.5 } })),
    'Error parsing route r - Invalid timeToLiveSecs for route: FROM /a INTO $upstream, it must be a whole number of seconds >= 0 (0 = global TTL)',
  );
  assert.equal(
    messageOf(() => RouteTable.compile({ r: { route: 5 as unknown as string } })),
    'Error parsing route r - Malformed route specification: expected a string or {"route": "...", "priority": 0-9, "timeToLiveSecs": n}',
  );
});

test('non-string input is a typed error', () => {
  assert.throws(() => compileCondition(42 as unknown as string), RouteSyntaxError);
  assert.throws(() => parseRoute(undefined as unknown as string), RouteSyntaxError);
  assert.throws(() => RouteTable.compile('x' as unknown as Record<string, string>), RouteSpecError);
});
