// Why this file is long: it is one concept, the compiler of the condition language (edgeHub's
// semantics). `Compiler` has one case per node kind with its static type rules and its closure; the
// functions after it are the run-time comparisons those closures call. Split by node kind, rules
// that must agree would sit in many files.
import { MISSING, NO_JSON, parseJsonPath, selectPath, toQueryValue, type JsonPathStep } from './body-query.js';
import { BUILTINS, TWIN_CHANGE_INCLUDES, definedTest, describeSignatures, type BuiltinArgument, type ParamType } from './builtins.js';
import type { BinaryOperator, ConditionNode } from './condition-ast.js';
import { RouteBuiltinError, RouteTypeError, describePosition } from './errors.js';
import { getProperty, type EvalContext } from './eval-context.js';
import type { Token } from './lexer.js';
import { typeName, valueToBool, valueToNumber, valueToString, type Compiled, type Evaluator, type StaticType, type Value } from './static-types.js';

export interface CompileOptions {
  /** The route's source is `/twinChangeNotifications`: enables `twin_change_includes`. */
  readonly twinChangeSource: boolean;
}

/** A compiled condition: returns true, false or undefined (Undefined) for a message context. */
export type ConditionEvaluator = (context: EvalContext) => boolean | undefined;

/** A condition compiled, with what the compiler noticed about it (see `conditionWarnings`). */
export interface CompiledConditionTree {
  readonly evaluate: ConditionEvaluator;
  /** Comparisons accepted although they are always Undefined (a message property against a number or bool). */
  readonly undefinedComparisons: readonly UndefinedComparison[];
  /** True when no message can make the condition True (so the route never matches). */
  readonly neverTrue: boolean;
}

/**
 * `temp > 100`: a property read (always a string) compared with a number or a bool. edgeHub's
 * deployment accepts such a route (the `$edgeHub` configuration gets 200) and the comparison is
 * Undefined for every message, so it can never be True; the compiler accepts it the same way and
 * records it here so that the deployment can warn.
 */
export interface UndefinedComparison {
  /** The comparison operator token (its position points into the compiled text). */
  readonly token: Token;
  /** The string side as the user wrote it: `temp`, `$temp`, `lower(x)`... */
  readonly operand: string;
  /** Whether `operand` is a plain property read (`as_number(operand)` is then the fix for numbers). */
  readonly isProperty: boolean;
  /** The static type it was compared with. */
  readonly comparedWith: 'number' | 'bool';
}

/**
 * Type-checks a condition tree and turns it into closures. Runs once per condition; evaluation
 * then only calls closures (no tree walking, no per-message type dispatch).
 */
export function compileConditionTree(root: ConditionNode, options: CompileOptions): CompiledConditionTree {
  const compiler = new Compiler(options);
  const compiled = compiler.compile(root);
  return { evaluate: toBool(compiled), undefinedComparisons: compiler.undefinedComparisons, neverTrue: cannotBeTrue(compiled) };
}

const UNDEFINED: Evaluator = () => undefined;

function constant(type: StaticType, value: Value): Compiled {
  return { type, fn: () => value, constant: true };
}

/** True when the final conversion to Bool can never give True (constant, or known at compile time). */
function cannotBeTrue(c: Compiled): boolean {
  return c.constant ? finalValue(c.type, c.fn(undefined as never)) !== true : c.neverTrue === true;
}

/** Final conversion to Bool: Bool as is, `null` is False, numbers and strings Undefined, `$body` booleans as is. */
function toBool(c: Compiled): ConditionEvaluator {
  if (c.constant) {
    const v = finalValue(c.type, c.fn(undefined as never));
    return () => v;
  }
  switch (c.type) {
    case 'bool':
      return c.fn as ConditionEvaluator;
    case 'value':
      return valueToBool(c.fn) as ConditionEvaluator;
    case 'null':
      return () => false;
    default:
      return () => undefined;
  }
}

function finalValue(type: StaticType, v: Value): boolean | undefined {
  if (type === 'null') return false;
  if (type === 'bool' || type === 'value') return typeof v === 'boolean' ? v : undefined;
  return undefined;
}

function typeError(token: Token, message: string): RouteTypeError {
  return new RouteTypeError('ROUTE_TYPE', `Type error ${describePosition(token)}: ${message}`, token);
}

function operatorText(token: Token): string {
  return token.text.length <= 3 && /^[a-z]+$/i.test(token.text) ? token.text.toUpperCase() : token.text;
}

/** The text of a string operand as the user wrote it, for warnings. */
function describeOperand(node: ConditionNode): { operand: string; isProperty: boolean } {
  switch (node.kind) {
    case 'property':
      return { operand: node.name, isProperty: true };
    case 'sysProperty':
      return { operand: node.escaped ? `{${node.name}}` : node.name, isProperty: true };
    case 'call':
      return { operand: `${node.name}(${node.rawArguments})`, isProperty: false };
    default:
      return { operand: 'a string expression', isProperty: false };
  }
}

class Compiler {
  readonly undefinedComparisons: UndefinedComparison[] = [];

  constructor(private readonly options: CompileOptions) {}

  compile(node: ConditionNode): Compiled {
    switch (node.kind) {
      case 'number':
        return constant('number', node.value);
      case 'string':
        return constant('string', node.value);
      case 'bool':
        return constant('bool', node.value);
      case 'null':
        return constant('null', null);
      case 'undefined':
      case 'empty':
        return constant('undefined', undefined);
      case 'property': {
        const name = node.name;
        const lower = name.toLowerCase();
        return { type: 'string', fn: (c) => getProperty(c.props, name, lower), constant: false };
      }
      case 'sysProperty':
        return this.sysProperty(node.name, node.escaped, node.token);
      case 'call':
        return this.call(node);
      case 'unary':
        return this.unary(node.operator, node.token, this.compile(node.operand));
      case 'binary':
        return this.binary(node, this.compile(node.left), this.compile(node.right));
    }
  }

  /** `$name`: an application property literally named `$name` wins; else a `$body.` query; else system property `name`. */
  private sysProperty(name: string, escaped: boolean, token: Token): Compiled {
    const isBody = name.length > 6 && name.slice(0, 6).toLowerCase() === '$body.';
    const hasBrackets = name.includes('[') || name.includes(']');
    const lower = name.toLowerCase();
    if (isBody) {
      const query = this.bodyQuery(name, token);
      if (escaped || hasBrackets) return query;
      const q = query.fn;
      const queryIsNull = query.isNull;
      return {
        type: 'value',
        fn: (c) => {
          const app = getProperty(c.props, name, lower);
          return app !== undefined ? app : q(c);
        },
        constant: false,
        isNull: (c) => {
          const app = getProperty(c.props, name, lower);
          return app !== undefined ? app === null : queryIsNull(c);
        },
      };
    }
    // Property names cannot contain brackets: such a system property is always Undefined.
    if (hasBrackets) return constant('undefined', undefined);
    const sysName = name.slice(1);
    const sysLower = sysName.toLowerCase();
    if (escaped) return { type: 'string', fn: (c) => getProperty(c.sys, sysName, sysLower), constant: false };
    return {
      type: 'string',
      fn: (c) => {
        const app = getProperty(c.props, name, lower);
        return app !== undefined ? app : getProperty(c.sys, sysName, sysLower);
      },
      constant: false,
    };
  }

  private bodyQuery(name: string, token: Token): Compiled & { readonly isNull: Evaluator } {
    const path = name.slice(6);
    const steps = parseJsonPath(path);
    if (typeof steps === 'string') {
      throw new RouteBuiltinError(
        'ROUTE_BUILTIN_ARGUMENTS',
        `Invalid arguments to built-in function '$body' ${describePosition(token)}: error in $body query: ${steps}`,
        token,
      );
    }
    // is_null tells a JSON null (True) from a missing path (False), which the value model merges.
    const isNull: Evaluator = (c) => {
      const json = c.bodyJson();
      if (json === NO_JSON) return undefined;
      const selected = selectPath(json, steps, MISSING);
      if (selected === MISSING) return false;
      if (selected === null) return true;
      return toQueryValue(selected) === undefined ? undefined : false;
    };
    const first = steps[0] as JsonPathStep;
    if (steps.length === 1 && first.index === undefined) {
      const key = first.name;
      return {
        type: 'value',
        fn: (c) => {
          const json = c.bodyJson();
          if (json === NO_JSON) return undefined;
          if (json === null || typeof json !== 'object' || Array.isArray(json) || !Object.prototype.hasOwnProperty.call(json, key)) return null;
          return toQueryValue((json as Record<string, unknown>)[key]);
        },
        constant: false,
        isNull,
      };
    }
    return {
      type: 'value',
      fn: (c) => {
        const json = c.bodyJson();
        return json === NO_JSON ? undefined : toQueryValue(selectPath(json, steps));
      },
      constant: false,
      isNull,
    };
  }

  private call(node: Extract<ConditionNode, { kind: 'call' }>): Compiled {
    const lower = node.name.toLowerCase();
    const token = node.token;
    if (lower === TWIN_CHANGE_INCLUDES) return this.twinChangeIncludes(node);
    const builtin = BUILTINS.get(lower);
    if (builtin === undefined) {
      throw new RouteBuiltinError('ROUTE_UNKNOWN_BUILTIN', `Invalid built-in function '${node.name}' ${describePosition(token)}`, token);
    }
    const args = node.args.map((a) => this.compile(a));
    const nullTest = args.length === 1 ? args[0]?.isNull : undefined;
    if (lower === 'is_null' && nullTest !== undefined) return { type: 'bool', fn: nullTest, constant: false };
    const params = matchSignature(builtin.signatures, builtin.variadic, args);
    if (params === undefined) {
      const got = `${node.name}(${args.map((a) => typeName(a.type)).join(', ')})`;
      throw new RouteBuiltinError(
        'ROUTE_BUILTIN_ARGUMENTS',
        `Invalid arguments to built-in function '${node.name}' ${describePosition(token)}: got ${got}, expected ${describeSignatures(lower, builtin)}`,
        token,
      );
    }
    const converted: BuiltinArgument[] = args.map((a, i) => ({ type: a.type, fn: convertArgument(a, params[i] as ParamType) }));
    const fn = builtin.build(converted);
    const isConstant = args.every((a) => a.constant);
    return isConstant ? constant(builtin.result, fn(undefined as never)) : { type: builtin.result, fn, constant: false };
  }

  private twinChangeIncludes(node: Extract<ConditionNode, { kind: 'call' }>): Compiled {
    const token = node.token;
    if (!this.options.twinChangeSource) {
      throw new RouteBuiltinError(
        'ROUTE_UNKNOWN_BUILTIN',
        `Invalid built-in function '${node.name}' ${describePosition(token)}: it is only available in routes FROM /twinChangeNotifications`,
        token,
      );
    }
    const path = node.rawArguments;
    const steps = path.length === 0 ? 'twin_change_includes argument cannot be empty' : parseJsonPath(path);
    let problem = typeof steps === 'string' ? steps : undefined;
    if (problem === undefined && !/^(?:properties\.reported\.|properties\.desired\.|tags\.)/i.test(path)) {
      problem = `'${path}' is not supported. Supported prefixes: 'properties.reported.', 'properties.desired.', 'tags.'`;
    }
    if (problem !== undefined || typeof steps === 'string') {
      throw new RouteBuiltinError(
        'ROUTE_BUILTIN_ARGUMENTS',
        `Invalid arguments to built-in function '${node.name}' ${describePosition(token)}: ${problem ?? ''}`,
        token,
      );
    }
    return {
      type: 'bool',
      fn: (c) => {
        const json = c.anyJson();
        if (json === NO_JSON) return undefined;
        const v = selectPath(json, steps);
        return v === null ? false : v !== undefined;
      },
      constant: false,
    };
  }

  private unary(op: '-' | 'NOT', token: Token, operand: Compiled): Compiled {
    const f = operand.fn;
    let result: Compiled;
    if (op === '-') {
      if (operand.type === 'number') result = { type: 'number', fn: (c) => -(f(c) as number), constant: false };
      else if (operand.type === 'value')
        result = {
          type: 'value',
          fn: (c) => {
            const v = f(c);
            return typeof v === 'number' ? -v : undefined;
          },
          constant: false,
        };
      else throw typeError(token, `Operator '-' needs a number, got ${typeName(operand.type)}`);
    } else {
      switch (operand.type) {
        case 'bool':
          result = {
            type: 'bool',
            fn: (c) => {
              const v = f(c);
              return v === undefined ? undefined : !v;
            },
            constant: false,
          };
          break;
        case 'null':
          return constant('bool', true);
        case 'value':
          result = {
            type: 'bool',
            fn: (c) => {
              const v = f(c);
              return typeof v === 'boolean' ? !v : undefined;
            },
            constant: false,
          };
          break;
        default:
          throw typeError(token, `Operator '${operatorText(token)}' needs a bool or null, got ${typeName(operand.type)}`);
      }
    }
    return operand.constant ? constant(result.type, result.fn(undefined as never)) : result;
  }

  private binary(node: Extract<ConditionNode, { kind: 'binary' }>, left: Compiled, right: Compiled): Compiled {
    const result = this.binaryUnfolded(node, left, right);
    return left.constant && right.constant && !result.constant ? constant(result.type, result.fn(undefined as never)) : result;
  }

  /**
   * A message property (a string read from the message) compared with a number or a bool: accepted,
   * as edgeHub's deployment accepts it, and Undefined for every message. Anything else mismatched
   * (two constants, `true = 1`, ...) stays a type error.
   */
  private undefinedComparison(node: Extract<ConditionNode, { kind: 'binary' }>, left: Compiled, right: Compiled): Compiled | undefined {
    const stringSide = left.type === 'string' && !left.constant ? 'left' : right.type === 'string' && !right.constant ? 'right' : undefined;
    if (stringSide === undefined) return undefined;
    const other = stringSide === 'left' ? right : left;
    if (other.type !== 'number' && other.type !== 'bool') return undefined;
    this.undefinedComparisons.push({ token: node.token, ...describeOperand(stringSide === 'left' ? node.left : node.right), comparedWith: other.type });
    return constant('bool', undefined);
  }

  private binaryUnfolded(node: Extract<ConditionNode, { kind: 'binary' }>, left: Compiled, right: Compiled): Compiled {
    const op = node.operator;
    const token = node.token;
    const lt = left.type;
    const rt = right.type;
    const isValue = lt === 'value' || rt === 'value';
    const got = `got ${typeName(lt)} and ${typeName(rt)}`;
    switch (op) {
      case '*':
      case '/':
      case '%':
      case '+':
      case '-':
        if (!((lt === 'number' || lt === 'value') && (rt === 'number' || rt === 'value'))) {
          throw typeError(token, `Operator '${op}' needs two numbers, ${got}`);
        }
        return isValue ? { type: 'value', fn: arithmeticOnValues(op, left.fn, right.fn), constant: false } : { type: 'number', fn: arithmetic(op, left, right), constant: false };
      case '||': {
        if (!((lt === 'string' || lt === 'value') && (rt === 'string' || rt === 'value'))) {
          throw typeError(token, `Operator '||' needs two strings, ${got}`);
        }
        const concat = BUILTINS.get('concat');
        if (concat === undefined) throw new Error('concat builtin missing');
        return { type: 'string', fn: concat.build([{ type: 'string', fn: convertArgument(left, 'string') }, { type: 'string', fn: convertArgument(right, 'string') }]), constant: false };
      }
      case '<':
      case '<=':
      case '>':
      case '>=':
      case '=':
      case '!=':
        if (lt !== rt && !isValue) {
          const accepted = this.undefinedComparison(node, left, right);
          if (accepted !== undefined) return accepted;
          throw typeError(token, `Operator '${token.text}' needs two operands of the same type, ${got}`);
        }
        return { type: 'bool', fn: comparison(op, isValue ? 'value' : lt, left, right), constant: false };
      case 'AND':
      case 'OR':
        return logical(op, token, left, right);
      case '??': {
        if (lt !== rt && !isValue) {
          throw typeError(token, `Operator '??' needs two operands of the same type, ${got}`);
        }
        if (lt === 'undefined') return right;
        const type: StaticType = isValue ? 'value' : lt;
        const defined = definedTest(lt, left.fn);
        const l = left.fn;
        const r = right.fn;
        return { type, fn: (c) => (defined(c) ? l(c) : r(c)), constant: false };
      }
    }
  }
}

function convertArgument(a: Compiled, param: ParamType): Evaluator {
  if (a.type !== 'value' || param === 'any' || param === 'value') return a.fn;
  return param === 'number' ? valueToNumber(a.fn) : valueToString(a.fn);
}

function accepts(param: ParamType, type: StaticType): boolean {
  if (param === 'any') return true;
  if (param === 'value') return type === 'value';
  return type === param || type === 'value';
}

function matchSignature(
  signatures: ReadonlyArray<readonly ParamType[]>,
  variadic: { readonly type: ParamType; readonly min: number } | undefined,
  args: readonly Compiled[],
): readonly ParamType[] | undefined {
  if (variadic !== undefined) {
    if (args.length < variadic.min || !args.every((a) => accepts(variadic.type, a.type))) return undefined;
    return args.map(() => variadic.type);
  }
  return signatures.find((s) => s.length === args.length && s.every((p, i) => accepts(p, (args[i] as Compiled).type)));
}

function arithmetic(op: '*' | '/' | '%' | '+' | '-', left: Compiled, right: Compiled): Evaluator {
  const l = left.fn;
  const r = right.fn;
  if (right.constant) {
    const b = r(undefined as never) as number;
    switch (op) {
      case '*':
        return (c) => l(c) * b;
      case '/':
        return (c) => l(c) / b;
      case '%':
        return (c) => l(c) % b;
      case '+':
        return (c) => l(c) + b;
      case '-':
        return (c) => l(c) - b;
    }
  }
  switch (op) {
    case '*':
      return (c) => l(c) * r(c);
    case '/':
      return (c) => l(c) / r(c);
    case '%':
      return (c) => l(c) % r(c);
    case '+':
      return (c) => l(c) + r(c);
    case '-':
      return (c) => l(c) - r(c);
  }
}

function arithmeticOnValues(op: '*' | '/' | '%' | '+' | '-', l: Evaluator, r: Evaluator): Evaluator {
  const apply = (a: number, b: number): number => (op === '*' ? a * b : op === '/' ? a / b : op === '%' ? a % b : op === '+' ? a + b : a - b);
  return (c) => {
    const a = l(c);
    const b = r(c);
    return typeof a === 'number' && typeof b === 'number' ? apply(a, b) : undefined;
  };
}

type ComparisonOperator = '<' | '<=' | '>' | '>=' | '=' | '!=';

/** Applies a comparison operator to the sign of a comparison (negative, zero, positive). */
function fromOrder(op: ComparisonOperator, order: number): boolean {
  switch (op) {
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
  }
}

/** Runtime type order of query values (edgeHub's QueryValueType): Bool < Double < String < Null. */
function valueRank(v: Value): number {
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
      return 2;
    case 'string':
      return 3;
    default:
      return 4; // null
  }
}

/** Compares two query values; Undefined when either is undefined or a NaN number. */
export function compareValues(op: ComparisonOperator, a: Value, b: Value): boolean | undefined {
  if (a === undefined || b === undefined) return undefined;
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return fromOrder(op, ra - rb);
  switch (ra) {
    case 1:
      return fromOrder(op, (a ? 1 : 0) - (b ? 1 : 0));
    case 2:
      if (a !== a || b !== b) return undefined;
      return fromOrder(op, a < b ? -1 : a > b ? 1 : 0);
    case 3:
      return fromOrder(op, a < b ? -1 : a > b ? 1 : 0);
    default:
      return fromOrder(op, 0);
  }
}

function comparison(op: ComparisonOperator, type: StaticType, left: Compiled, right: Compiled): Evaluator {
  const l = left.fn;
  const r = right.fn;
  switch (type) {
    case 'number':
      return numberComparison(op, l, right);
    case 'string':
      return stringComparison(op, l, right);
    case 'bool':
      return (c) => {
        const a = l(c);
        if (a === undefined) return undefined;
        const b = r(c);
        return b === undefined ? undefined : fromOrder(op, (a ? 1 : 0) - (b ? 1 : 0));
      };
    case 'null': {
      // null = null is True, null <> null False, null < null False, null <= null True.
      const v = fromOrder(op, 0);
      return () => v;
    }
    case 'undefined':
      return UNDEFINED;
    case 'value':
      return (c) => compareValues(op, l(c), r(c));
  }
}

function numberComparison(op: ComparisonOperator, l: Evaluator, right: Compiled): Evaluator {
  if (right.constant) {
    const b = right.fn(undefined as never) as number;
    if (b !== b) return UNDEFINED;
    switch (op) {
      case '<':
        return (c) => {
          const a = l(c);
          return a !== a ? undefined : a < b;
        };
      case '<=':
        return (c) => {
          const a = l(c);
          return a !== a ? undefined : a <= b;
        };
      case '>':
        return (c) => {
          const a = l(c);
          return a !== a ? undefined : a > b;
        };
      case '>=':
        return (c) => {
          const a = l(c);
          return a !== a ? undefined : a >= b;
        };
      case '=':
        return (c) => {
          const a = l(c);
          return a !== a ? undefined : a === b;
        };
      case '!=':
        return (c) => {
          const a = l(c);
          return a !== a ? undefined : a !== b;
        };
    }
  }
  const r = right.fn;
  return (c) => {
    const a = l(c);
    const b = r(c);
    if (a !== a || b !== b) return undefined;
    return fromOrder(op, a < b ? -1 : a > b ? 1 : 0);
  };
}

function stringComparison(op: ComparisonOperator, l: Evaluator, right: Compiled): Evaluator {
  if (right.constant && (op === '=' || op === '!=')) {
    const b = right.fn(undefined as never) as string;
    return op === '='
      ? (c) => {
          const a = l(c);
          return a == null ? undefined : a === b;
        }
      : (c) => {
          const a = l(c);
          return a == null ? undefined : a !== b;
        };
  }
  const r = right.fn;
  return (c) => {
    const a = l(c);
    if (a == null) return undefined;
    const b = r(c);
    if (b == null) return undefined;
    return fromOrder(op, a < b ? -1 : a > b ? 1 : 0);
  };
}

function logical(op: 'AND' | 'OR', token: Token, left: Compiled, right: Compiled): Compiled {
  const lt = left.type;
  const rt = right.type;
  const logicalType = (t: StaticType): boolean => t === 'bool' || t === 'null' || t === 'undefined' || t === 'value';
  // edgeHub accepts any right operand when the left one is a $body value (CheckBooleanOperands); kept for compatibility.
  if (!logicalType(lt) || !(logicalType(rt) || lt === 'value')) {
    throw typeError(token, `Operator '${operatorText(token)}' needs two bools (or null/undefined), got ${typeName(lt)} and ${typeName(rt)}`);
  }
  if (op === 'AND') {
    // null AND x is Null (which converts to False).
    if (lt === 'null' || rt === 'null') return constant('null', null);
    const l = asBool(left);
    const r = asBool(right);
    return {
      type: 'bool',
      fn: (c) => {
        const a = l(c);
        if (a === false) return false;
        const b = r(c);
        if (b === false) return false;
        return a === undefined || b === undefined ? undefined : true;
      },
      constant: false,
      neverTrue: cannotBeTrue(left) || cannotBeTrue(right),
    };
  }
  // null OR x is x; null OR null is Null.
  if (lt === 'null' && rt === 'null') return constant('null', null);
  if (lt === 'null') return { type: 'bool', fn: asBool(right), constant: right.constant, neverTrue: cannotBeTrue(right) };
  if (rt === 'null') return { type: 'bool', fn: asBool(left), constant: left.constant, neverTrue: cannotBeTrue(left) };
  const l = asBool(left);
  const r = asBool(right);
  return {
    type: 'bool',
    fn: (c) => {
      const a = l(c);
      if (a === true) return true;
      const b = r(c);
      if (b === true) return true;
      return a === undefined || b === undefined ? undefined : false;
    },
    constant: false,
    neverTrue: cannotBeTrue(left) && cannotBeTrue(right),
  };
}

function asBool(c: Compiled): Evaluator {
  if (c.type === 'bool') return c.fn;
  if (c.type === 'value' || c.type === 'number' || c.type === 'string') return valueToBool(c.fn);
  return UNDEFINED;
}
