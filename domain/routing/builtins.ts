import { parseDotNetNumber } from './as-number.js';
import type { Evaluator, StaticType } from './static-types.js';

/**
 * Parameter types: a static type (a `$body` value is also accepted and converted at run time),
 * `any` (every type, passed as is), or `value` (only a `$body` value, passed as is).
 */
export type ParamType = 'number' | 'string' | 'any' | 'value';

export interface BuiltinArgument {
  readonly type: StaticType;
  readonly fn: Evaluator;
}

export interface Builtin {
  /** Accepted parameter lists, tried in order. */
  readonly signatures: ReadonlyArray<readonly ParamType[]>;
  /** For variadic functions (concat): the type and minimum count of the parameters. */
  readonly variadic?: { readonly type: ParamType; readonly min: number };
  readonly result: StaticType;
  /** Arguments are already converted to the matched parameter types. */
  build(args: readonly BuiltinArgument[]): Evaluator;
}

function arg(args: readonly BuiltinArgument[], i: number): Evaluator {
  return (args[i] as BuiltinArgument).fn;
}

function math(f: (x: number) => number): Builtin {
  return {
    signatures: [['number']],
    result: 'number',
    build(args) {
      const a = arg(args, 0);
      return (c) => f(a(c) as number);
    },
  };
}

function stringPredicate(f: (s: string, t: string) => boolean): Builtin {
  return {
    signatures: [['string', 'string']],
    result: 'bool',
    build(args) {
      const a = arg(args, 0);
      const b = arg(args, 1);
      return (c) => {
        const s = a(c);
        if (s == null) return undefined;
        const t = b(c);
        return t == null ? undefined : f(s as string, t as string);
      };
    },
  };
}

/** A function of one string; a null or undefined string gives `missing` (Undefined, or NaN for numbers). */
function stringFunction(result: 'number' | 'string', f: (s: string) => number | string): Builtin {
  const missing = result === 'number' ? NaN : undefined;
  return {
    signatures: [['string']],
    result,
    build(args) {
      const a = arg(args, 0);
      return (c) => {
        const s = a(c);
        return s == null ? missing : f(s as string);
      };
    },
  };
}

function typeCheck(check: (type: StaticType, fn: Evaluator) => Evaluator): Builtin {
  return {
    signatures: [['any']],
    result: 'bool',
    build(args) {
      const a = args[0] as BuiltinArgument;
      return check(a.type, a.fn);
    },
  };
}

const FALSE: Evaluator = () => false;
const TRUE: Evaluator = () => true;

/** Is the runtime value defined, for a given static type. */
export function definedTest(type: StaticType, fn: Evaluator): Evaluator {
  switch (type) {
    case 'number':
      return (c) => {
        const v = fn(c);
        return v === v;
      };
    case 'null':
      return TRUE;
    case 'undefined':
      return FALSE;
    default:
      return (c) => fn(c) !== undefined;
  }
}

/** The built-in functions of edgeHub's ConditionVisitor (names are case-insensitive). */
export const BUILTINS: ReadonlyMap<string, Builtin> = new Map<string, Builtin>([
  ['abs', math(Math.abs)],
  ['exp', math(Math.exp)],
  ['square', math((x) => x * x)],
  ['ceiling', math(Math.ceil)],
  ['floor', math(Math.floor)],
  ['sign', math(Math.sign)],
  ['sqrt', math(Math.sqrt)],
  [
    'power',
    {
      signatures: [['number', 'number']],
      result: 'number',
      build(args) {
        const a = arg(args, 0);
        const b = arg(args, 1);
        return (c) => Math.pow(a(c) as number, b(c) as number);
      },
    },
  ],
  [
    'as_number',
    {
      signatures: [['value'], ['number'], ['string']],
      result: 'number',
      build(args) {
        const a = args[0] as BuiltinArgument;
        const f = a.fn;
        if (a.type === 'number') return f;
        return (c) => {
          const v = f(c);
          if (typeof v === 'string') return parseDotNetNumber(v);
          return typeof v === 'number' ? v : NaN;
        };
      },
    },
  ],
  ['is_bool', typeCheck((type, fn) => (type === 'bool' || type === 'value' ? (c) => typeof fn(c) === 'boolean' : FALSE))],
  ['is_defined', typeCheck(definedTest)],
  [
    'is_null',
    typeCheck((type, fn) => {
      if (type === 'null') return TRUE;
      if (type === 'string') return (c) => fn(c) === null;
      if (type === 'value') {
        // A `$body` query itself is compiled with its own null test (JSON null True, missing path
        // False: the compiler uses `Compiled.isNull`); other body-valued expressions (`a ?? b`,
        // arithmetic) no longer know whether a null was missing, so any null counts.
        return (c) => {
          const v = fn(c);
          return v === undefined ? undefined : v === null;
        };
      }
      return FALSE;
    }),
  ],
  [
    'is_number',
    typeCheck((type, fn) =>
      type === 'number' || type === 'value'
        ? (c) => {
            const v = fn(c);
            return typeof v === 'number' && Number.isFinite(v);
          }
        : FALSE,
    ),
  ],
  ['is_string', typeCheck((type, fn) => (type === 'string' || type === 'value' ? (c) => typeof fn(c) === 'string' : FALSE))],
  [
    'concat',
    {
      signatures: [],
      variadic: { type: 'string', min: 2 },
      result: 'string',
      build(args) {
        const fns = args.map((a) => a.fn);
        return (c) => {
          let out = '';
          for (let i = 0; i < fns.length; i++) {
            const v = (fns[i] as Evaluator)(c);
            if (v === undefined) return undefined;
            if (v !== null) out += v as string;
          }
          return out;
        };
      },
    },
  ],
  ['length', stringFunction('number', (s) => s.length)],
  ['lower', stringFunction('string', (s) => s.toLowerCase())],
  ['upper', stringFunction('string', (s) => s.toUpperCase())],
  [
    'substring',
    {
      signatures: [
        ['string', 'number'],
        ['string', 'number', 'number'],
      ],
      result: 'string',
      build(args) {
        const a = arg(args, 0);
        const b = arg(args, 1);
        if (args.length === 2) {
          return (c) => {
            const s = a(c) as string | null | undefined;
            if (s == null) return undefined;
            const start = Math.trunc(b(c) as number);
            return start >= 0 && start <= s.length ? s.substring(start) : undefined;
          };
        }
        const l = arg(args, 2);
        return (c) => {
          const s = a(c) as string | null | undefined;
          if (s == null) return undefined;
          const start = Math.trunc(b(c) as number);
          const length = Math.trunc(l(c) as number);
          return start >= 0 && start < s.length && length >= 0 && length <= s.length - start ? s.substring(start, start + length) : undefined;
        };
      },
    },
  ],
  [
    'index_of',
    {
      signatures: [['string', 'string']],
      result: 'number',
      build(args) {
        const a = arg(args, 0);
        const b = arg(args, 1);
        return (c) => {
          const s = a(c);
          const t = b(c);
          return s == null || t == null ? NaN : (s as string).indexOf(t as string);
        };
      },
    },
  ],
  ['starts_with', stringPredicate((s, t) => s.startsWith(t))],
  ['ends_with', stringPredicate((s, t) => s.endsWith(t))],
  ['contains', stringPredicate((s, t) => s.includes(t))],
]);

/** `twin_change_includes` is handled by the compiler (its argument is path text, not an expression). */
export const TWIN_CHANGE_INCLUDES = 'twin_change_includes';

/** The 24 built-in function names, for documentation and tests. */
export const BUILTIN_NAMES: readonly string[] = [...BUILTINS.keys(), TWIN_CHANGE_INCLUDES];

/** "substring(string, number) or substring(string, number, number)" */
export function describeSignatures(name: string, builtin: Builtin): string {
  if (builtin.variadic !== undefined) {
    const t = builtin.variadic.type;
    return `${name}(${Array.from({ length: builtin.variadic.min }, () => t).join(', ')}, ...)`;
  }
  return builtin.signatures.map((s) => `${name}(${s.map((p) => (p === 'value' ? '$body value' : p)).join(', ')})`).join(' or ');
}
