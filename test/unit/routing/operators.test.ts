import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTypeError } from '../../../domain/routing/index.js';
import { ev, expectAll, expectError, message } from './helpers.js';

const props = message({ s: 'abc', n: '5', nul: null, t: 'true' });

test('arithmetic: + - * / % and unary minus on numbers', () => {
  expectAll([
    ['1 + 2 = 3', true],
    ['5 - 7 = -2', true],
    ['3 * 4 = 12', true],
    ['7 / 2 = 3.5', true],
    ['7 % 4 = 3', true],
    ['-7 % 4 = -3', true],
    ['5.5 % 2 = 1.5', true],
    ['- 3 = -3', true],
    ['- - 3 = 3', true],
    ['-(1 - 4) = 3', true],
  ]);
});

test('arithmetic edge cases: 3 % 0 is undefined, 3 / 0 is +Infinity (defined)', () => {
  expectAll([
    ['3 % 0 = 3 % 0', undefined],
    ['3 % 0 > 0', undefined],
    ['is_defined(3 % 0)', false],
    ['3 / 0 > 1000000', true],
    ['is_defined(3 / 0)', true],
    ['is_number(3 / 0)', false],
    ['-3 / 0 < 0', true],
    ['0 / 0 = 0 / 0', undefined],
  ]);
});

test('string concatenation ||', () => {
  expectAll(
    [
      ["'a' || 'b' = 'ab'", true],
      ["s || 'd' = 'abcd'", true],
      ["s || missing = 'abc'", undefined],
      ["nul || 'x' = 'x'", true],
      ["'a' || 'b' || 'c' = 'abc'", true],
    ],
    props,
  );
});

test('comparisons on numbers', () => {
  expectAll([
    ['1 < 2', true],
    ['2 < 1', false],
    ['2 < 2', false],
    ['2 <= 2', true],
    ['3 <= 2', false],
    ['3 > 2', true],
    ['2 > 2', false],
    ['2 >= 2', true],
    ['1 >= 2', false],
    ['2 = 2', true],
    ['2 = 3', false],
    ['2 != 3', true],
    ['2 != 2', false],
    ['2 <> 3', true],
    ['2 <> 2', false],
  ]);
});

test('comparisons on strings are ordinal (case-sensitive, UTF-16 order)', () => {
  expectAll([
    ["'a' < 'b'", true],
    ["'B' < 'a'", true],
    ["'abc' = 'abc'", true],
    ["'abc' = 'ABC'", false],
    ["'abc' <> 'ABC'", true],
    ["'ab' < 'abc'", true],
    ["'b' >= 'abc'", true],
    ["'10' < '9'", true],
  ]);
});

test('comparisons on bools', () => {
  expectAll([
    ['true = true', true],
    ['true = false', false],
    ['true <> false', true],
    ['true > false', true],
    ['false < true', true],
    ['(1 < 2) = (2 > 1)', true],
    ['(3 % 0 > 1) = true', undefined],
  ]);
});

test('null literal comparisons and undefined comparisons', () => {
  expectAll([
    ['null = null', true],
    ['null <> null', false],
    ['null != null', false],
    ['null < null', false],
    ['null <= null', true],
    ['null > null', false],
    ['null >= null', true],
    ['undefined = undefined', undefined],
    ['undefined <> undefined', undefined],
  ]);
});

test('comparisons with undefined or null-valued properties are Undefined', () => {
  expectAll(
    [
      ["missing = 'x'", undefined],
      ["missing <> 'x'", undefined],
      ["nul = 'x'", undefined],
      ["nul <> 'x'", undefined],
      ["s = 'abc'", true],
      ["s <> 'abc'", false],
      ['as_number(n) = 5', true],
      ['as_number(s) = 5', undefined],
    ],
    props,
  );
});

test('AND truth table (three-valued, with null and undefined)', () => {
  const T = 'true';
  const F = 'false';
  const U = '(1 % 0 = 1)'; // a Bool that is Undefined at run time
  const table: Array<[string, string, boolean | undefined]> = [
    [T, T, true],
    [T, F, false],
    [T, U, undefined],
    [F, T, false],
    [F, F, false],
    [F, U, false],
    [U, T, undefined],
    [U, F, false],
    [U, U, undefined],
  ];
  for (const [a, b, r] of table) assert.equal(ev(`${a} AND ${b}`), r, `${a} AND ${b}`);
  expectAll([
    ['true AND undefined', undefined],
    ['false AND undefined', false],
    ['undefined AND undefined', undefined],
    // null AND x is Null, which converts to False
    ['null AND true', false],
    ['true AND null', false],
    ['null AND false', false],
    ['(null AND true) = null', true],
    ['true and true', true],
    ['true aNd false', false],
  ]);
});

test('OR truth table (three-valued, with null and undefined)', () => {
  const T = 'true';
  const F = 'false';
  const U = '(1 % 0 = 1)';
  const table: Array<[string, string, boolean | undefined]> = [
    [T, T, true],
    [T, F, true],
    [T, U, true],
    [F, T, true],
    [F, F, false],
    [F, U, undefined],
    [U, T, true],
    [U, F, undefined],
    [U, U, undefined],
  ];
  for (const [a, b, r] of table) assert.equal(ev(`${a} OR ${b}`), r, `${a} OR ${b}`);
  expectAll([
    ['true OR undefined', true],
    ['false OR undefined', undefined],
    // null OR x is x; null OR null is Null (False)
    ['null OR true', true],
    ['null OR false', false],
    ['false OR null', false],
    ['null OR undefined', undefined],
    ['null OR null', false],
    ['(null OR null) = null', true],
    ['false or true', true],
  ]);
});

test('NOT: True/False/Undefined, and NOT null is True', () => {
  expectAll([
    ['NOT true', false],
    ['NOT false', true],
    ['NOT (1 % 0 = 1)', undefined],
    ['NOT null', true],
    ['not true', false],
    ['NoT false', true],
    ['NOT NOT true', true],
  ]);
});

test('coalesce ??', () => {
  expectAll(
    [
      ["(s ?? 'x') = 'abc'", true],
      ["(missing ?? 'x') = 'x'", true],
      ["(nul ?? 'x') = 'x'", undefined], // a null-valued property is defined: the result is that null
      ['(as_number(s) ?? 7) = 7', true],
      ['(as_number(n) ?? 7) = 5', true],
      ['((1 % 0 = 1) ?? true)', true],
      ['(false ?? true)', false],
      ['(undefined ?? undefined) = undefined', undefined],
      ['(null ?? null) = null', true],
    ],
    props,
  );
});

test('final conversion: bool as is, null False, numbers and strings Undefined', () => {
  expectAll(
    [
      ['true', true],
      ['null', false],
      ['1', undefined],
      ["'x'", undefined],
      ['s', undefined],
      ['t', undefined],
      ['undefined', undefined],
    ],
    props,
  );
});

test('type errors: arithmetic needs numbers', () => {
  expectError("'a' + 'b'", RouteTypeError, /Operator '\+' needs two numbers, got string and string/);
  expectError("'a' + 3", RouteTypeError, /^Type error at column 5: Operator '\+' needs two numbers, got string and number$/);
  expectError('true + 3', RouteTypeError, /Operator '\+' needs two numbers, got bool and number/);
  expectError('3 + undefined', RouteTypeError, /got number and undefined/);
  expectError('3 + null', RouteTypeError, /got number and null/);
  expectError('3 + none', RouteTypeError, /got number and string/);
  expectError('3 - x', RouteTypeError, /Operator '-' needs two numbers/);
  expectError('3 * x', RouteTypeError, /Operator '\*' needs two numbers/);
  expectError('3 / x', RouteTypeError, /Operator '\/' needs two numbers/);
  expectError('3 % x', RouteTypeError, /Operator '%' needs two numbers/);
  expectError("- 'a'", RouteTypeError, /Operator '-' needs a number, got string/);
  expectError('- true', RouteTypeError, /Operator '-' needs a number, got bool/);
});

test('type errors: || needs strings, comparisons need the same type', () => {
  expectError("1 || 'a'", RouteTypeError, /Operator '\|\|' needs two strings, got number and string/);
  expectError("'a' || null", RouteTypeError, /got string and null/);
  // A property (always a string) against a number or bool is accepted and Undefined (issue #12.6,
  // see routing-compatibility.test.ts); two constants of different types stay an error.
  expectError("3 < '3'", RouteTypeError, /Operator '<' needs two operands of the same type/);
  expectError("'a' = true", RouteTypeError, /got string and bool/);
  expectError('true = 1', RouteTypeError, /got bool and number/);
  expectError("a = null", RouteTypeError, /got string and null/);
  expectError('1 <> undefined', RouteTypeError, /Operator '<>'/);
  expectError("1 != 'a'", RouteTypeError, /Operator '!='/);
  expectError('1 <= true', RouteTypeError, /Operator '<='/);
  expectError('1 >= true', RouteTypeError, /Operator '>='/);
  expectError('1 > true', RouteTypeError, /Operator '>'/);
});

test('type errors: AND/OR need bools (or null/undefined), NOT needs bool or null', () => {
  expectError('1 AND true', RouteTypeError, /Operator 'AND' needs two bools \(or null\/undefined\), got number and bool/);
  expectError("true or 'x'", RouteTypeError, /Operator 'OR' needs two bools/);
  expectError('s AND true', RouteTypeError, /got string and bool/);
  expectError('NOT 1', RouteTypeError, /Operator 'NOT' needs a bool or null, got number/);
  expectError('NOT undefined', RouteTypeError, /got undefined/);
  expectError("NOT 'a'", RouteTypeError, /got string/);
  expectError("1 ?? 'a'", RouteTypeError, /Operator '\?\?' needs two operands of the same type, got number and string/);
});

test('type errors report the operator position', () => {
  const e = expectError("a = 'x' AND 1 + 'y' = 2", RouteTypeError, /column 15/);
  assert.equal(e.column, 15);
  assert.equal(e.code, 'ROUTE_TYPE');
});
