import { RouteSyntaxError, describePosition } from './errors.js';

/**
 * Token kinds of edgeHub's `GrammarLexer.g4`, in the lexer's rule order. Order matters: like ANTLR,
 * the lexer takes the longest match and breaks ties by the earlier rule (so `true` is TRUE, not ID,
 * while `trueish` is an ID).
 */
export const TokenKind = {
  Select: 'SELECT',
  From: 'FROM',
  Where: 'WHERE',
  Into: 'INTO',
  String: 'STRING',
  UnterminatedString: 'UNTERMINATED_STRING',
  Integer: 'INTEGER_LITERAL',
  Hex: 'HEX_INTEGER_LITERAL',
  Real: 'REAL_LITERAL',
  True: 'TRUE',
  False: 'FALSE',
  Null: 'NULL',
  Undefined: 'UNDEFINED',
  OpenParen: '(',
  CloseParen: ')',
  Comma: ',',
  Plus: '+',
  Minus: '-',
  Mul: '*',
  Div: '/',
  Mod: '%',
  And: 'AND',
  Or: 'OR',
  Not: 'NOT',
  Eq: '=',
  Ne: '!=',
  Ne2: '<>',
  Le: '<=',
  Ge: '>=',
  Gt: '>',
  Lt: '<',
  Concat: '||',
  Coalesce: '??',
  /** `==` is not an operator; lexed on its own so the error can say so. */
  DoubleEq: '==',
  OpenBrace: '{',
  CloseBrace: '}',
  SysProp: 'SYS_PROP',
  Id: 'ID',
  QueryPath: 'QUERY_PATH',
  Unknown: 'UNKNOWN_CHAR',
  Eof: 'EOF',
} as const;
export type TokenKind = (typeof TokenKind)[keyof typeof TokenKind];

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** Offset of the first character in the lexed text. */
  readonly start: number;
  /** Offset just after the last character. */
  readonly end: number;
  readonly line: number;
  readonly column: number;
}

// Character classes of GrammarLexer.g4: ID_CHARS excludes ()<>@,;:\"/[]?={} and white space;
// QUERY_PATH_CHARS is the same but allows [ and ].
const ID_CHARS = String.raw`[^()<>@,;:\\"/\[\]?={} \t\n\r]`;
const QUERY_PATH_CHARS = String.raw`[^()<>@,;:\\"/?={} \t\n\r]`;
const ESC = String.raw`\\(?:["'\\]|u[0-9a-fA-F]{4})`;

/**
 * [kind, sticky regex, first characters] in rule order. Hidden tokens (white space, comments)
 * use kind null. The first-character class only serves to skip rules that cannot match here.
 */
const RULES: ReadonlyArray<readonly [TokenKind | null, RegExp, RegExp]> = [
  [TokenKind.OpenBrace, /\{/y, /\{/],
  [TokenKind.CloseBrace, /\}/y, /\}/],
  [TokenKind.Select, /select/iy, /[sS]/],
  [TokenKind.From, /from/iy, /[fF]/],
  [TokenKind.Where, /where/iy, /[wW]/],
  [TokenKind.Into, /into/iy, /[iI]/],
  [TokenKind.String, new RegExp(`"(?:${ESC}|[^"\\\\])*"|'(?:${ESC}|[^'\\\\])*'`, 'y'), /["']/],
  [TokenKind.UnterminatedString, new RegExp(`"(?:${ESC}|[^"\\\\])*|'(?:${ESC}|[^'\\\\])*`, 'y'), /["']/],
  [TokenKind.Integer, /-?[0-9]+/y, /[-0-9]/],
  [TokenKind.Hex, /0[xX][0-9a-fA-F]+/y, /0/],
  [TokenKind.Real, /-?[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?|-?[0-9]*[eE][+-]?[0-9]+/y, /[-.0-9eE]/],
  [TokenKind.True, /true/y, /t/],
  [TokenKind.False, /false/y, /f/],
  [TokenKind.Null, /null/y, /n/],
  [TokenKind.Undefined, /undefined/y, /u/],
  [TokenKind.OpenParen, /\(/y, /\(/],
  [TokenKind.CloseParen, /\)/y, /\)/],
  [TokenKind.Comma, /,/y, /,/],
  [TokenKind.Plus, /\+/y, /\+/],
  [TokenKind.Minus, /-/y, /-/],
  [TokenKind.Mul, /\*/y, /\*/],
  [TokenKind.Div, /\//y, /\//],
  [TokenKind.Mod, /%/y, /%/],
  [TokenKind.And, /and/iy, /[aA]/],
  [TokenKind.Or, /or/iy, /[oO]/],
  [TokenKind.Not, /not/iy, /[nN]/],
  [TokenKind.DoubleEq, /==/y, /=/],
  [TokenKind.Eq, /=/y, /=/],
  [TokenKind.Ne, /!=/y, /!/],
  [TokenKind.Ne2, /<>/y, /</],
  [TokenKind.Le, /<=/y, /</],
  [TokenKind.Ge, />=/y, />/],
  [TokenKind.Gt, />/y, />/],
  [TokenKind.Lt, /</y, /</],
  [TokenKind.Concat, /\|\|/y, /\|/],
  [TokenKind.Coalesce, /\?\?/y, /\?/],
  [TokenKind.SysProp, new RegExp(`\\$${QUERY_PATH_CHARS}+`, 'uy'), /\$/],
  [TokenKind.Id, new RegExp(`${ID_CHARS}+`, 'uy'), new RegExp(ID_CHARS, 'u')],
  [TokenKind.QueryPath, new RegExp(`${QUERY_PATH_CHARS}+`, 'uy'), new RegExp(QUERY_PATH_CHARS, 'u')],
  [null, /[ \t\r\n]+/y, /[ \t\r\n]/],
  [null, /\/\*[\s\S]*?\*\//y, /\//],
];

type Rule = (typeof RULES)[number];
const rulesByFirstChar = new Map<string, readonly Rule[]>();

/** The rules that can start with this character (cached per character). */
function rulesFor(ch: string): readonly Rule[] {
  let rules = rulesByFirstChar.get(ch);
  if (rules === undefined) {
    rules = RULES.filter((rule) => rule[2].test(ch));
    if (rulesByFirstChar.size < 4096) rulesByFirstChar.set(ch, rules);
  }
  return rules;
}

/**
 * Splits route or condition text into tokens (white space and comments dropped), ending with an
 * EOF token. Never throws: characters no rule accepts become UNKNOWN_CHAR tokens, which the parser
 * reports as "invalid symbol".
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  const length = text.length;
  while (pos < length) {
    let bestKind: TokenKind | null | undefined = undefined;
    let bestLength = 0;
    const code = text.codePointAt(pos) ?? 0;
    const ch = String.fromCodePoint(code);
    for (const [kind, regex] of rulesFor(ch)) {
      regex.lastIndex = pos;
      const match = regex.exec(text);
      if (match !== null && match[0].length > bestLength) {
        bestLength = match[0].length;
        bestKind = kind;
      }
    }
    if (bestKind === undefined) {
      // ANTLR's `.` matches one code point.
      bestLength = ch.length;
      bestKind = TokenKind.Unknown;
    }
    const end = pos + bestLength;
    if (bestKind !== null) {
      tokens.push({ kind: bestKind, text: text.slice(pos, end), start: pos, end, line, column: pos - lineStart + 1 });
    }
    // Track lines inside white space, comments and strings.
    for (let i = pos; i < end; i++) {
      if (text.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    pos = end;
  }
  tokens.push({ kind: TokenKind.Eof, text: '', start: length, end: length, line, column: length - lineStart + 1 });
  return tokens;
}

/** Builds the syntax error users see: "Syntax error at column 23 near '==': <detail>". */
export function syntaxError(token: Token, detail?: string): RouteSyntaxError {
  const near = token.kind === TokenKind.Eof ? '(end of input)' : `near '${token.text}'`;
  const message = `Syntax error ${describePosition(token)} ${near}${detail === undefined ? '' : `: ${detail}`}`;
  return new RouteSyntaxError('ROUTE_SYNTAX', message, { line: token.line, column: token.column });
}

/**
 * Unescapes a string literal body exactly as edgeHub does: first `\uXXXX`, then `\"`, `\'`, `\\`
 * (two passes, so `\\u0041` becomes `\A`, like the original).
 */
export function unescapeString(body: string): string {
  return body
    .replace(/\\[Uu]([0-9A-Fa-f]{4})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/\\(["'\\])/g, (_m, ch: string) => ch);
}
