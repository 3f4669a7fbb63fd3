import type { CompiledConditionTree, UndefinedComparison } from './condition-compiler.js';
import { describePosition } from './errors.js';

export type RouteWarningCode =
  /** No message can make the condition True: the route never sends anything. */
  | 'ROUTE_NEVER_MATCHES'
  /** Part of the condition is always Undefined (a property compared with a number), the rest can still match. */
  | 'ROUTE_UNDEFINED_COMPARISON'
  /** The route sends to `$upstream` but this runtime has no upstream: messages wait until their TTL. */
  | 'ROUTE_NO_UPSTREAM';

/**
 * Something about a route that is valid (Azure accepts it, status 200) but almost certainly not what
 * its author meant. Deployments log these, report them in the `$edgeHub` reported properties and the
 * CLI prints them; they never reject a deployment.
 */
export interface RouteWarning {
  readonly code: RouteWarningCode;
  /** What is wrong and how to fix it, without the route name (see `formatRouteWarning`). */
  readonly message: string;
  /** The route's name, when the warning comes from a route table. */
  readonly route?: string;
  /** 1-based position in the route text (or in the condition for `compileCondition`). */
  readonly line?: number;
  readonly column?: number;
}

/** `route <name>: <message>`, or the message alone. */
export function formatRouteWarning(warning: RouteWarning): string {
  return warning.route === undefined ? warning.message : `route ${warning.route}: ${warning.message}`;
}

function describeComparison(c: UndefinedComparison): string {
  const what = c.isProperty ? `property '${c.operand}'` : `'${c.operand}' (a string)`;
  const fix = !c.isProperty
    ? ''
    : c.comparedWith === 'number'
      ? `; write as_number(${c.operand}) to compare it as a number`
      : `; compare it with the string 'true' or 'false' instead`;
  return `${what} is compared with a ${c.comparedWith} ${describePosition(c.token)}, which is always undefined because message properties are strings${fix}`;
}

/** The warnings for one compiled condition (`route` names the route they belong to, if any). */
export function conditionWarnings(tree: CompiledConditionTree, route?: string): RouteWarning[] {
  const named = route === undefined ? {} : { route };
  const comparisons = tree.undefinedComparisons;
  if (tree.neverTrue) {
    const first = comparisons[0];
    const detail = comparisons.length > 0 ? comparisons.map(describeComparison).join('; ') : 'it is always false or undefined';
    const position = first === undefined ? {} : { line: first.token.line, column: first.token.column };
    return [{ code: 'ROUTE_NEVER_MATCHES', message: `condition can never match: ${detail}`, ...named, ...position }];
  }
  return comparisons.map((c) => ({
    code: 'ROUTE_UNDEFINED_COMPARISON' as const,
    message: `part of the condition can never be true: ${describeComparison(c)}`,
    ...named,
    line: c.token.line,
    column: c.token.column,
  }));
}
