import type { Token } from './lexer.js';

/** Binary operators, by their canonical spelling (`<>` is stored as `!=`). */
export type BinaryOperator = '*' | '/' | '%' | '+' | '-' | '||' | '<' | '<=' | '>' | '>=' | '=' | '!=' | 'AND' | 'OR' | '??';
export type UnaryOperator = '-' | 'NOT';

/** Syntax tree of a condition. `token` is kept on every node for error positions. */
export type ConditionNode =
  | { readonly kind: 'number'; readonly value: number; readonly token: Token }
  | { readonly kind: 'string'; readonly value: string; readonly token: Token }
  | { readonly kind: 'bool'; readonly value: boolean; readonly token: Token }
  | { readonly kind: 'null'; readonly token: Token }
  | { readonly kind: 'undefined'; readonly token: Token }
  /** `name` or `a.b`: an application property. */
  | { readonly kind: 'property'; readonly name: string; readonly token: Token }
  /** `$name` (escaped = false) or `{$name}` (escaped = true); `name` includes the `$`. */
  | { readonly kind: 'sysProperty'; readonly name: string; readonly escaped: boolean; readonly token: Token }
  /** `rawArguments` is the argument text without white space or comments (what `twin_change_includes` reads). */
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly ConditionNode[]; readonly rawArguments: string; readonly token: Token }
  | { readonly kind: 'unary'; readonly operator: UnaryOperator; readonly operand: ConditionNode; readonly token: Token }
  | { readonly kind: 'binary'; readonly operator: BinaryOperator; readonly left: ConditionNode; readonly right: ConditionNode; readonly token: Token }
  /** Empty condition: evaluates to Undefined. */
  | { readonly kind: 'empty'; readonly token: Token };
