import type { BinaryOperator, ConditionNode } from './condition-ast.js';
import { TokenKind, syntaxError, unescapeString, type Token } from './lexer.js';

/**
 * Binding power of binary operators, from edgeHub's Condition.g4 (ANTLR left-recursive
 * alternatives, highest first): `* / %`, `+ - ||`, `< <= > >=`, `= != <>`, AND, OR, `??`.
 * All are left-associative. Unary `-` and NOT bind tighter than any of them.
 */
const BINARY: Partial<Record<TokenKind, readonly [number, BinaryOperator]>> = {
  [TokenKind.Mul]: [7, '*'],
  [TokenKind.Div]: [7, '/'],
  [TokenKind.Mod]: [7, '%'],
  [TokenKind.Plus]: [6, '+'],
  [TokenKind.Minus]: [6, '-'],
  [TokenKind.Concat]: [6, '||'],
  [TokenKind.Lt]: [5, '<'],
  [TokenKind.Le]: [5, '<='],
  [TokenKind.Gt]: [5, '>'],
  [TokenKind.Ge]: [5, '>='],
  [TokenKind.Eq]: [4, '='],
  [TokenKind.Ne]: [4, '!='],
  [TokenKind.Ne2]: [4, '!='],
  [TokenKind.And]: [3, 'AND'],
  [TokenKind.Or]: [2, 'OR'],
  [TokenKind.Coalesce]: [1, '??'],
};

/** Deeper trees than this are rejected, so compiling and evaluating can never overflow the stack. */
export const MAX_CONDITION_DEPTH = 200;

/** Recursive-descent (Pratt) parser over a token slice. */
export class ConditionParser {
  private pos: number;
  private depth = 0;

  constructor(
    private readonly tokens: readonly Token[],
    start: number,
  ) {
    this.pos = start;
  }

  get position(): number {
    return this.pos;
  }

  peek(): Token {
    // The token list always ends with EOF, and the parser never moves past it.
    return this.tokens[this.pos] as Token;
  }

  /** Parses one full expression; the caller checks what follows. */
  parseExpression(): ConditionNode {
    return this.parseBinary(0);
  }

  /** Error for a token that cannot follow a complete expression. */
  unexpected(token: Token, expected: string): Error {
    switch (token.kind) {
      case TokenKind.CloseParen:
        return syntaxError(token, "unmatched closing ')'");
      default:
        return this.badToken(token) ?? syntaxError(token, expected);
    }
  }

  private badToken(token: Token): Error | undefined {
    switch (token.kind) {
      case TokenKind.Unknown:
        return syntaxError(token, `invalid symbol '${token.text}'`);
      case TokenKind.UnterminatedString:
        return syntaxError(token, 'unterminated string');
      case TokenKind.DoubleEq:
        return syntaxError(token, "'==' is not an operator, use '=' to compare");
      case TokenKind.QueryPath:
        return syntaxError(token, "'[' and ']' are only allowed in $body queries ($body.a[0])");
      default:
        return undefined;
    }
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== TokenKind.Eof) this.pos++;
    return token;
  }

  private enter(token: Token): void {
    if (++this.depth > MAX_CONDITION_DEPTH) {
      throw syntaxError(token, `condition is nested too deeply (more than ${MAX_CONDITION_DEPTH} levels)`);
    }
  }

  private parseBinary(minPower: number): ConditionNode {
    const start = this.peek();
    this.enter(start);
    let left = this.parsePrefix();
    let chain = 0;
    for (;;) {
      const token = this.peek();
      const entry = BINARY[token.kind];
      if (entry === undefined || entry[0] < minPower) break;
      this.next();
      // Left-associative chains grow the tree without recursing here; bound them as well.
      if (++chain + this.depth > MAX_CONDITION_DEPTH) {
        throw syntaxError(token, `condition is nested too deeply (more than ${MAX_CONDITION_DEPTH} levels)`);
      }
      const right = this.parseBinary(entry[0] + 1);
      left = { kind: 'binary', operator: entry[1], left, right, token };
    }
    this.depth--;
    return left;
  }

  private parsePrefix(): ConditionNode {
    const token = this.next();
    switch (token.kind) {
      case TokenKind.OpenParen: {
        const inner = this.parseBinary(0);
        const close = this.peek();
        if (close.kind !== TokenKind.CloseParen) {
          throw this.badToken(close) ?? syntaxError(close, `missing closing ')' for '(' at column ${token.column}`);
        }
        this.next();
        return inner;
      }
      case TokenKind.Integer:
      case TokenKind.Real:
        return { kind: 'number', value: Number(token.text), token };
      case TokenKind.Hex:
        return hexLiteral(token);
      case TokenKind.String:
        return { kind: 'string', value: unescapeString(token.text.slice(1, -1)), token };
      case TokenKind.True:
        return { kind: 'bool', value: true, token };
      case TokenKind.False:
        return { kind: 'bool', value: false, token };
      case TokenKind.Null:
        return { kind: 'null', token };
      case TokenKind.Undefined:
        return { kind: 'undefined', token };
      case TokenKind.SysProp:
        return { kind: 'sysProperty', name: token.text, escaped: false, token };
      case TokenKind.OpenBrace: {
        const prop = this.next();
        if (prop.kind !== TokenKind.SysProp) {
          throw this.badToken(prop) ?? syntaxError(prop, "expected a system property such as '$connectionDeviceId' inside '{ }'");
        }
        const close = this.next();
        if (close.kind !== TokenKind.CloseBrace) throw this.badToken(close) ?? syntaxError(close, "expected '}'");
        return { kind: 'sysProperty', name: prop.text, escaped: true, token: prop };
      }
      case TokenKind.Id:
        if (this.peek().kind === TokenKind.OpenParen) return this.parseCall(token);
        return { kind: 'property', name: token.text, token };
      case TokenKind.Minus:
      case TokenKind.Not: {
        // Prefix operators bind tighter than every binary operator: `NOT a = b` is `(NOT a) = b`.
        this.enter(token);
        const operand = this.parsePrefix();
        this.depth--;
        return { kind: 'unary', operator: token.kind === TokenKind.Minus ? '-' : 'NOT', operand, token };
      }
      default:
        throw this.badToken(token) ?? syntaxError(token, 'expected a value, property, function call or ( expression )');
    }
  }

  private parseCall(name: Token): ConditionNode {
    this.next(); // (
    const args: ConditionNode[] = [];
    const first = this.pos;
    if (this.peek().kind !== TokenKind.CloseParen) {
      for (;;) {
        args.push(this.parseBinary(0));
        const sep = this.peek();
        if (sep.kind === TokenKind.Comma) {
          this.next();
          continue;
        }
        if (sep.kind === TokenKind.CloseParen) break;
        throw this.badToken(sep) ?? syntaxError(sep, `expected ',' or ')' in the arguments of '${name.text}'`);
      }
    }
    let rawArguments = '';
    for (let i = first; i < this.pos; i++) rawArguments += (this.tokens[i] as Token).text;
    this.next(); // )
    return { kind: 'call', name: name.text, args, rawArguments, token: name };
  }
}

/** `0x..` as edgeHub reads it: a 64-bit two's-complement long; more than 64 bits is Undefined. */
function hexLiteral(token: Token): ConditionNode {
  const value = BigInt(`0x${token.text.slice(2)}`);
  if (value > 0xffffffffffffffffn) return { kind: 'undefined', token };
  return { kind: 'number', value: Number(BigInt.asIntN(64, value)), token };
}

/** Parses a whole condition (the text of `compileCondition`). Empty text is the Undefined condition. */
export function parseConditionTokens(tokens: readonly Token[]): ConditionNode {
  const first = tokens[0] as Token;
  if (first.kind === TokenKind.Eof) return { kind: 'empty', token: first };
  const parser = new ConditionParser(tokens, 0);
  const node = parser.parseExpression();
  const rest = parser.peek();
  if (rest.kind !== TokenKind.Eof) throw parser.unexpected(rest, 'expected an operator or the end of the condition');
  return node;
}
