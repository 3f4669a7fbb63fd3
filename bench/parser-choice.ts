/**
 * Why the routing parser is hand-written: the same condition grammar (operators, precedence,
 * calls, literals, properties) recognised by a chevrotain 11 parser, measured against the
 * hand-written lexer + Pratt parser on the same conditions. Run:
 *   npm run build && node dist/bench/parser-choice.js
 * The chevrotain grammar is recognition-only (no tree, no typing), so it does less work than
 * the hand-written side, which builds the full syntax tree.
 */
import { EmbeddedActionsParser, Lexer, createToken, type TokenType } from 'chevrotain';
import { parseConditionTokens } from '../domain/routing/condition-parser.js';
import { tokenize } from '../domain/routing/lexer.js';

const CONDITIONS = [
  "as_number(temperature) > 30 AND $connectionModuleId = 'sensor'",
  "$body.level = 'critical' OR (is_defined(a.b) AND NOT (lower(unit) = 'f'))",
  "concat($connectionDeviceId, '-', x) <> 'dev-1' AND substring(name, 0, 3) = 'abc' ?? false",
  '(1 + 2 * 3 - 4 / 5 % 6) >= -7.5e2 AND 0x1F < 40 OR null = null',
];

function buildChevrotain(): { lex(text: string): ReturnType<Lexer['tokenize']>; parser: EmbeddedActionsParser & { condition(): unknown } } {
  const WS = createToken({ name: 'WS', pattern: /[ \t\r\n]+/, group: Lexer.SKIPPED });
  const Comment = createToken({ name: 'Comment', pattern: /\/\*[\s\S]*?\*\//, group: Lexer.SKIPPED });
  const Str = createToken({ name: 'Str', pattern: /"(?:\\["'\\]|\\u[0-9a-fA-F]{4}|[^"\\])*"|'(?:\\["'\\]|\\u[0-9a-fA-F]{4}|[^'\\])*'/ });
  const Hex = createToken({ name: 'Hex', pattern: /0[xX][0-9a-fA-F]+/ });
  const Real = createToken({ name: 'Real', pattern: /-?[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?|-?[0-9]+[eE][+-]?[0-9]+/ });
  const Int = createToken({ name: 'Int', pattern: /-?[0-9]+/ });
  const SysProp = createToken({ name: 'SysProp', pattern: /\$[^()<>@,;:\\"/?={} \t\n\r]+/ });
  const Id = createToken({ name: 'Id', pattern: /[^()<>@,;:\\"/[\]?={} \t\n\r]+/ });
  const kw = (name: string, pattern: RegExp): TokenType => createToken({ name, pattern, longer_alt: Id });
  const And = kw('And', /and/i);
  const Or = kw('Or', /or/i);
  const Not = kw('Not', /not/i);
  const True = kw('True', /true/);
  const False = kw('False', /false/);
  const Null = kw('Null', /null/);
  const Undef = kw('Undef', /undefined/);
  const LParen = createToken({ name: 'LParen', pattern: /\(/ });
  const RParen = createToken({ name: 'RParen', pattern: /\)/ });
  const LBrace = createToken({ name: 'LBrace', pattern: /\{/ });
  const RBrace = createToken({ name: 'RBrace', pattern: /\}/ });
  const Comma = createToken({ name: 'Comma', pattern: /,/ });
  const MulOp = createToken({ name: 'MulOp', pattern: /[*/%]/ });
  const Concat = createToken({ name: 'Concat', pattern: /\|\|/ });
  const AddOp = createToken({ name: 'AddOp', pattern: /[+-]/ });
  const CmpOp = createToken({ name: 'CmpOp', pattern: /<=|>=|<>|<|>/ });
  const EqOp = createToken({ name: 'EqOp', pattern: /!=|=/ });
  const Coalesce = createToken({ name: 'Coalesce', pattern: /\?\?/ });
  const all = [WS, Comment, Str, Hex, Real, Int, And, Or, Not, True, False, Null, Undef, SysProp, LParen, RParen, LBrace, RBrace, Comma, Concat, MulOp, AddOp, CmpOp, EqOp, Coalesce, Id];
  const lexer = new Lexer(all);

  class ConditionCst extends EmbeddedActionsParser {
    constructor() {
      super(all);
      this.performSelfAnalysis();
    }
    condition = this.RULE('condition', () => this.SUBRULE(this.coalesce));
    private binary(name: string, op: TokenType, next: () => unknown, next2: () => unknown): () => unknown {
      return this.RULE(name, () => {
        next();
        this.MANY(() => {
          this.CONSUME(op);
          next2();
        });
      });
    }
    coalesce: () => unknown = this.binary('coalesce', Coalesce, () => this.SUBRULE(this.orExpr), () => this.SUBRULE2(this.orExpr));
    orExpr: () => unknown = this.binary("orExpr", Or, () => this.SUBRULE(this.andExpr), () => this.SUBRULE2(this.andExpr));
    andExpr: () => unknown = this.binary("andExpr", And, () => this.SUBRULE(this.eq), () => this.SUBRULE2(this.eq));
    eq: () => unknown = this.binary('eq', EqOp, () => this.SUBRULE(this.cmp), () => this.SUBRULE2(this.cmp));
    cmp: () => unknown = this.binary('cmp', CmpOp, () => this.SUBRULE(this.add), () => this.SUBRULE2(this.add));
    add: () => unknown = this.RULE('add', () => {
      this.SUBRULE(this.mul);
      this.MANY(() => {
        this.OR([{ ALT: () => this.CONSUME(AddOp) }, { ALT: () => this.CONSUME(Concat) }]);
        this.SUBRULE2(this.mul);
      });
    });
    mul: () => unknown = this.binary('mul', MulOp, () => this.SUBRULE(this.unary), () => this.SUBRULE2(this.unary));
    unary: () => unknown = this.RULE('unary', () => {
      this.OR([
        {
          ALT: () => {
            this.OR2([{ ALT: () => this.CONSUME(Not) }, { ALT: () => this.CONSUME(AddOp) }]);
            this.SUBRULE(this.unary);
          },
        },
        { ALT: () => this.SUBRULE(this.primary) },
      ]);
    });
    primary: () => unknown = this.RULE('primary', () => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(LParen);
            this.SUBRULE(this.condition);
            this.CONSUME(RParen);
          },
        },
        {
          ALT: () => {
            this.CONSUME(Id);
            this.OPTION(() => {
              this.CONSUME2(LParen);
              this.MANY_SEP({ SEP: Comma, DEF: () => this.SUBRULE2(this.condition) });
              this.CONSUME2(RParen);
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME(LBrace);
            this.CONSUME(SysProp);
            this.CONSUME(RBrace);
          },
        },
        { ALT: () => this.CONSUME2(SysProp) },
        { ALT: () => this.CONSUME(Str) },
        { ALT: () => this.CONSUME(Hex) },
        { ALT: () => this.CONSUME(Real) },
        { ALT: () => this.CONSUME(Int) },
        { ALT: () => this.CONSUME(True) },
        { ALT: () => this.CONSUME(False) },
        { ALT: () => this.CONSUME(Null) },
        { ALT: () => this.CONSUME(Undef) },
      ]);
    });
  }
  const parser = new ConditionCst();
  return { lex: (text) => lexer.tokenize(text), parser };
}

function perSecond(fn: () => void, ms = 500): number {
  let n = 0;
  const start = performance.now();
  let now = start;
  do {
    fn();
    n++;
    now = performance.now();
  } while (now - start < ms);
  return (n * 1000) / (now - start);
}

function main(): void {
  const t0 = performance.now();
  const chevrotain = buildChevrotain();
  const initMs = performance.now() - t0;

  const parseChevrotain = (text: string): void => {
    const lexed = chevrotain.lex(text);
    chevrotain.parser.input = lexed.tokens;
    chevrotain.parser.condition();
    if (lexed.errors.length > 0 || chevrotain.parser.errors.length > 0) throw new Error(`chevrotain rejected ${text}`);
  };
  const parseHandWritten = (text: string): void => {
    parseConditionTokens(tokenize(text));
  };
  for (const c of CONDITIONS) {
    parseChevrotain(c);
    parseHandWritten(c);
  }
  const chevrotainRate = perSecond(() => CONDITIONS.forEach(parseChevrotain)) * CONDITIONS.length;
  const handRate = perSecond(() => CONDITIONS.forEach(parseHandWritten)) * CONDITIONS.length;
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  console.log(`chevrotain: parser construction (performSelfAnalysis) ${initMs.toFixed(1)} ms; ${fmt(chevrotainRate)} conditions/s (recognition only)`);
  console.log(`hand-written: no construction cost; ${fmt(handRate)} conditions/s (full syntax tree)`);
}

main();
