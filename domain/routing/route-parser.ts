import type { ConditionNode } from './condition-ast.js';
import { ConditionParser } from './condition-parser.js';
import { RouteSpecError, describePosition } from './errors.js';
import { TokenKind, syntaxError, tokenize, unescapeString, type Token } from './lexer.js';

export type RouteSink = { readonly type: 'upstream' } | { readonly type: 'module'; readonly module: string; readonly input: string };

/** A parsed route, with the condition tree for the compiler. */
export interface ParsedRoute {
  /** The FROM path as written (tokens joined, without white space or comments). */
  readonly source: string;
  /** The exact WHERE text, or "true" without WHERE. */
  readonly condition: string;
  /** Undefined when there is no WHERE clause. */
  readonly conditionTree: ConditionNode | undefined;
  readonly sink: RouteSink;
}

/**
 * Parses `[SELECT *] FROM <path> [WHERE <condition>] INTO <sink>` (edgeHub's Route.g4). Keywords are
 * case-insensitive; the condition is parsed by the same lexer and parser as `compileCondition`, so
 * error columns point into the route text.
 */
export function parseRouteText(text: string): ParsedRoute {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token => tokens[pos] as Token;
  const next = (): Token => {
    const t = peek();
    if (t.kind !== TokenKind.Eof) pos++;
    return t;
  };
  const expect = (kind: TokenKind, what: string): Token => {
    const t = next();
    if (t.kind !== kind) throw unexpectedToken(t, what);
    return t;
  };

  if (peek().kind === TokenKind.Select) {
    next();
    expect(TokenKind.Mul, "expected '*' after SELECT");
  }
  expect(TokenKind.From, 'a route starts with FROM (or SELECT * FROM)');

  // path : '/' item path | '/' item ;  item : '*' | ID
  let source = '';
  do {
    source += expect(TokenKind.Div, "expected a source path such as '/messages/*'").text;
    const item = next();
    if (item.kind !== TokenKind.Mul && item.kind !== TokenKind.Id) throw unexpectedToken(item, "expected a path segment or '*' after '/'");
    source += item.text;
  } while (peek().kind === TokenKind.Div);

  let condition = 'true';
  let conditionTree: ConditionNode | undefined;
  if (peek().kind === TokenKind.Where) {
    next();
    const first = peek();
    if (first.kind === TokenKind.Into || first.kind === TokenKind.Eof) throw syntaxError(first, 'expected a condition after WHERE');
    const parser = new ConditionParser(tokens, pos);
    conditionTree = parser.parseExpression();
    pos = parser.position;
    const after = peek();
    if (after.kind !== TokenKind.Into) throw parser.unexpected(after, 'expected an operator or INTO');
    const last = tokens[pos - 1] as Token;
    condition = text.slice(first.start, last.end);
  }
  expect(TokenKind.Into, 'expected WHERE or INTO after the source');

  const sinkToken = next();
  let sink: RouteSink;
  if (sinkToken.kind === TokenKind.SysProp) {
    if (sinkToken.text.toLowerCase() !== '$upstream') {
      throw new RouteSpecError('ROUTE_INVALID_SINK', `Unsupported system endpoint '${sinkToken.text}' ${describePosition(sinkToken)}: the only one is $upstream`, sinkToken);
    }
    sink = { type: 'upstream' };
  } else if (sinkToken.kind === TokenKind.Id) {
    expect(TokenKind.OpenParen, `expected '(' after '${sinkToken.text}'`);
    const address = expect(TokenKind.String, 'expected a quoted endpoint address such as "/modules/filter/inputs/input1"');
    expect(TokenKind.CloseParen, "expected ')'");
    if (sinkToken.text.toLowerCase() !== 'brokeredendpoint') {
      throw new RouteSpecError('ROUTE_INVALID_SINK', `Unsupported endpoint function '${sinkToken.text}' ${describePosition(sinkToken)}: use BrokeredEndpoint("/modules/<module>/inputs/<input>")`, sinkToken);
    }
    sink = moduleSink(unescapeString(address.text.slice(1, -1)), address);
  } else {
    throw unexpectedToken(sinkToken, 'expected $upstream or BrokeredEndpoint("/modules/<module>/inputs/<input>") after INTO');
  }
  const end = peek();
  if (end.kind !== TokenKind.Eof) throw unexpectedToken(end, 'expected the end of the route after the sink');
  return { source, condition, conditionTree, sink };
}

/** `/modules/{module}/inputs/{input}`: leading and trailing `/` trimmed, exactly four segments. */
function moduleSink(address: string, token: Token): RouteSink {
  const segments = address.replace(/^\/+|\/+$/g, '').split('/');
  if (segments.length !== 4 || segments.some((s) => s.length === 0)) {
    throw new RouteSpecError(
      'ROUTE_INVALID_SINK',
      `Invalid endpoint address '${address}' ${describePosition(token)}: expected "/modules/<module>/inputs/<input>"`,
      token,
    );
  }
  return { type: 'module', module: segments[1] as string, input: segments[3] as string };
}

function unexpectedToken(token: Token, expected: string): Error {
  switch (token.kind) {
    case TokenKind.Unknown:
      return syntaxError(token, `invalid symbol '${token.text}'`);
    case TokenKind.UnterminatedString:
      return syntaxError(token, 'unterminated string');
    default:
      return syntaxError(token, expected);
  }
}
