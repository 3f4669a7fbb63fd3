import type { EvalContext } from './eval-context.js';

/**
 * Static types of the condition language (edgeHub's `ConditionVisitor` expression types).
 * `value` is edgeHub's QueryValue: the dynamically typed result of a `$body` query.
 *
 * Runtime representation (chosen so no boxing is needed):
 * - number: a JS number; NaN is the undefined number
 * - string: a JS string, `null` (property present with a null value) or `undefined` (missing)
 * - bool: `true`, `false` or `undefined` (three-valued logic)
 * - null: `null`; undefined: `undefined`
 * - value: boolean | number | string | null | undefined (undefined = QueryValue.Undefined)
 * Every representation is already a valid `value`, so widening to `value` is free.
 */
export type StaticType = 'number' | 'string' | 'bool' | 'null' | 'undefined' | 'value';

// Values are typed by StaticType, which TypeScript cannot track through closures.
export type Value = any;
export type Evaluator = (context: EvalContext) => Value;

/** A compiled sub-expression: its static type, its closure, and whether it is a constant. */
export interface Compiled {
  readonly type: StaticType;
  readonly fn: Evaluator;
  /** True when the closure ignores the message (literals and pure operators on literals). */
  readonly constant: boolean;
  /** A non-constant bool that can never be True (e.g. `x AND <always Undefined>`); absent = may be True. */
  readonly neverTrue?: boolean;
  /** `$body` queries: `is_null` of this value, telling a JSON null (True) from a missing path (False). */
  readonly isNull?: Evaluator;
}

export function typeName(type: StaticType): string {
  return type === 'value' ? '$body value' : type;
}

/** Converts a `value` to a number parameter (non-numbers become the undefined number). */
export function valueToNumber(fn: Evaluator): Evaluator {
  return (c) => {
    const v = fn(c);
    return typeof v === 'number' ? v : NaN;
  };
}

/** Converts a `value` to a string parameter (JSON null stays null, anything else not a string is undefined). */
export function valueToString(fn: Evaluator): Evaluator {
  return (c) => {
    const v = fn(c);
    return typeof v === 'string' || v === null ? v : undefined;
  };
}

/** Converts a `value` to a Bool (booleans as-is, anything else Undefined). */
export function valueToBool(fn: Evaluator): Evaluator {
  return (c) => {
    const v = fn(c);
    return typeof v === 'boolean' ? v : undefined;
  };
}
