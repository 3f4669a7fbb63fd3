import assert from 'node:assert/strict';
import { compileCondition, RouteError } from '../../../domain/routing/index.js';
import type { ConditionMessage } from '../../../domain/routing/index.js';

export const JSON_SYS = { contentType: 'application/json', contentEncoding: 'utf-8' } as const;

export function message(
  properties: Record<string, string | null> = {},
  systemProperties: Record<string, string | null> = {},
  body?: Uint8Array | string,
): ConditionMessage {
  return body === undefined ? { properties, systemProperties } : { properties, systemProperties, body };
}

/** Evaluates a condition on a message (an empty one by default). */
export function ev(condition: string, msg: ConditionMessage = message(), source?: string): boolean | undefined {
  return compileCondition(condition, source === undefined ? undefined : { source }).evaluate(msg);
}

/** Asserts that every condition evaluates to the expected result. */
export function expectAll(cases: ReadonlyArray<readonly [string, boolean | undefined]>, msg?: ConditionMessage, source?: string): void {
  for (const [condition, expected] of cases) {
    assert.equal(ev(condition, msg, source), expected, `${condition} should be ${String(expected)}`);
  }
}

/** Asserts that compiling throws the given RouteError subclass with a message matching `pattern`. */
export function expectError(
  text: string,
  errorClass: new (...args: never[]) => RouteError,
  pattern: RegExp,
  compile: (text: string) => unknown = (t) => compileCondition(t),
): RouteError {
  let caught: unknown;
  try {
    compile(text);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof errorClass, `${text}: expected ${errorClass.name}, got ${String(caught)}`);
  const error = caught as RouteError;
  assert.match(error.message, pattern, `${text}: message`);
  return error;
}
