/** Where an error was found in the route or condition text (both 1-based). */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

export type RouteErrorCode =
  | 'ROUTE_SYNTAX'
  | 'ROUTE_TYPE'
  | 'ROUTE_BUILTIN_ARGUMENTS'
  | 'ROUTE_UNKNOWN_BUILTIN'
  | 'ROUTE_INVALID_SINK'
  | 'ROUTE_INVALID_SPEC';

/**
 * Base class of every error the routing engine throws on bad input. `code` is stable for
 * programs; `message` tells a person what to fix; `line`/`column` point into the text that was
 * compiled (the whole route for routes, the condition for `compileCondition`).
 */
export class RouteError extends Error {
  readonly code: RouteErrorCode;
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** Set when the error comes from a route table entry. */
  readonly routeName: string | undefined;

  constructor(code: RouteErrorCode, message: string, position?: SourcePosition, routeName?: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.line = position?.line;
    this.column = position?.column;
    this.routeName = routeName;
  }

  /** The same error, re-worded the way edgeHub reports route errors: "Error parsing route {name} - {msg}". */
  forRoute(name: string): RouteError {
    const Ctor = this.constructor as new (
      code: RouteErrorCode,
      message: string,
      position?: SourcePosition,
      routeName?: string,
    ) => RouteError;
    const position = this.line !== undefined && this.column !== undefined ? { line: this.line, column: this.column } : undefined;
    return new Ctor(this.code, `Error parsing route ${name} - ${this.message}`, position, name);
  }
}

/** The text does not follow the route or condition grammar. */
export class RouteSyntaxError extends RouteError {}

/** Operands of an operator have static types the operator does not accept. */
export class RouteTypeError extends RouteError {}

/** Unknown built-in function, or a known one called with the wrong number or types of arguments. */
export class RouteBuiltinError extends RouteError {}

/** The route parsed but cannot be used: unknown sink, bad endpoint address, bad priority or TTL. */
export class RouteSpecError extends RouteError {}

/** "at column 7" on one-line text, "at line 2, column 7" otherwise. */
export function describePosition(position: SourcePosition): string {
  return position.line === 1 ? `at column ${position.column}` : `at line ${position.line}, column ${position.column}`;
}
