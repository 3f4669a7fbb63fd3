/**
 * Edgeport routing: the IoT Hub / Azure IoT Edge route and condition language.
 * Pure domain code (no I/O); published as the package subpath `edgeport/routing`.
 */
import { compileConditionTree } from './condition-compiler.js';
import { conditionWarnings, type RouteWarning } from './condition-warnings.js';
import { RouteSyntaxError } from './errors.js';
import { guardCompile } from './compile-condition.js';
import { isTwinChangeSource } from './message-source.js';
import { parseRouteText, type RouteSink } from './route-parser.js';

export { compileCondition, type CompileConditionOptions, type CompiledCondition } from './compile-condition.js';
export { RouteError, RouteSyntaxError, RouteTypeError, RouteBuiltinError, RouteSpecError, type RouteErrorCode } from './errors.js';
export { RouteTable, DEFAULT_ROUTE_PRIORITY, type RouteSpec, type Endpoint, type RoutableMessage, type RouteMatch } from './route-table.js';
export { messageSource, TWIN_CHANGE_SOURCE } from './message-source.js';
export { BUILTIN_NAMES } from './builtins.js';
export type { ConditionMessage } from './eval-context.js';
export type { RouteSink } from './route-parser.js';
export { formatRouteWarning, type RouteWarning, type RouteWarningCode } from './condition-warnings.js';
export { routeWarnings, type RouteWarningOptions } from './route-warnings.js';

export interface ParsedRouteText {
  source: string;
  /** The exact WHERE text, or "true" without WHERE. */
  condition: string;
  sink: { type: 'upstream' } | { type: 'module'; module: string; input: string };
  /** Valid but suspicious parts of the condition (e.g. `temp > 100` can never be true). */
  warnings: RouteWarning[];
}

/**
 * Parses a route and checks its condition (syntax and types), like edgeHub does when it loads
 * routes. Throws a RouteError subclass naming the position and the problem.
 */
export function parseRoute(text: string): ParsedRouteText {
  if (typeof text !== 'string') throw new RouteSyntaxError('ROUTE_SYNTAX', 'Syntax error: a route must be a string');
  const parsed = guardCompile(() => parseRouteText(text));
  const tree = parsed.conditionTree;
  let warnings: RouteWarning[] = [];
  if (tree !== undefined) {
    const twinChangeSource = isTwinChangeSource(parsed.source);
    warnings = conditionWarnings(guardCompile(() => compileConditionTree(tree, { twinChangeSource })));
  }
  const sink: RouteSink = parsed.sink;
  return {
    source: parsed.source,
    condition: parsed.condition,
    sink: sink.type === 'upstream' ? { type: 'upstream' } : { type: 'module', module: sink.module, input: sink.input },
    warnings,
  };
}
