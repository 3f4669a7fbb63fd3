import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_NAMES, RouteBuiltinError } from '../../../domain/routing/index.js';
import { parseDotNetNumber } from '../../../domain/routing/as-number.js';
import { expectAll, expectError, message } from './helpers.js';

const msg = message({ s: 'Hello', n: '12.5', nul: null, empty: '' });

test('there are 24 built-in functions', () => {
  assert.equal(BUILTIN_NAMES.length, 24);
  assert.deepEqual([...BUILTIN_NAMES].sort(), [
    'abs', 'as_number', 'ceiling', 'concat', 'contains', 'ends_with', 'exp', 'floor', 'index_of', 'is_bool', 'is_defined', 'is_null',
    'is_number', 'is_string', 'length', 'lower', 'power', 'sign', 'sqrt', 'square', 'starts_with', 'substring', 'twin_change_includes', 'upper',
  ]);
});

test('math: abs exp square ceiling floor sign sqrt power', () => {
  expectAll(
    [
      ['abs(-3) = 3', true],
      ['abs(3) = 3', true],
      ['exp(0) = 1', true],
      ['exp(1) > 2.718 AND exp(1) < 2.719', true],
      ['square(-4) = 16', true],
      ['ceiling(1.2) = 2', true],
      ['ceiling(-1.2) = -1', true],
      ['floor(1.8) = 1', true],
      ['floor(-1.2) = -2', true],
      ['sign(-5) = -1', true],
      ['sign(0) = 0', true],
      ['sign(7.5) = 1', true],
      ['sign(1 / 0) = 1', true],
      ['sign(-1 / 0) = -1', true],
      ['sqrt(16) = 4', true],
      ['is_defined(sqrt(-4))', false],
      ['sqrt(-4) = 0', undefined],
      ['power(2, 10) = 1024', true],
      ['power(4, 0.5) = 2', true],
      ['power(2, -1) = 0.5', true],
      ['abs(as_number(s)) = 1', undefined],
      ['ABS(-1) = 1', true],
      ['Power(2, 2) = 4', true],
    ],
    msg,
  );
});

test('as_number: .NET NumberStyles.Any parsing, failure is undefined', () => {
  expectAll(
    [
      ['as_number(n) = 12.5', true],
      ["as_number('42') = 42", true],
      ["as_number(' 42 ') = 42", true],
      ["as_number('-1.5e2') = -150", true],
      ["as_number('1,000') = 1000", true],
      ["as_number('(5)') = -5", true],
      ["as_number('5-') = -5", true],
      ["as_number('+7') = 7", true],
      ["as_number('.5') = 0.5", true],
      ["as_number('0') = 0", true],
      ["as_number('10e1000') > 1000000", true],
      ["is_number(as_number('10e1000'))", false],
      ["is_defined(as_number('abc'))", false],
      ["is_defined(as_number(''))", false],
      ["is_defined(as_number('0x10'))", false],
      ["is_defined(as_number('1 2'))", false],
      ['is_defined(as_number(missing))', false],
      ['is_defined(as_number(nul))', false],
      ['as_number(3) = 3', true],
      ['as_number(s) = 1', undefined],
    ],
    msg,
  );
  assert.equal(parseDotNetNumber('Infinity'), Infinity);
  assert.equal(parseDotNetNumber('-infinity'), -Infinity);
  assert.ok(Number.isNaN(parseDotNetNumber('NaN')));
  assert.ok(Number.isNaN(parseDotNetNumber('   ')));
  assert.ok(Number.isNaN(parseDotNetNumber('0b1')));
  assert.ok(Number.isNaN(parseDotNetNumber('1e')));
  assert.ok(Number.isNaN(parseDotNetNumber('--1')));
  assert.ok(Number.isNaN(parseDotNetNumber('(-1)')));
  assert.equal(parseDotNetNumber('¤12'), 12);
  assert.equal(parseDotNetNumber('\t3.25\n'), 3.25);
  assert.equal(parseDotNetNumber('1.'), 1);
});

test('is_bool / is_defined / is_null / is_number / is_string', () => {
  expectAll(
    [
      ['is_bool(true)', true],
      ['is_bool(1 < 2)', true],
      ['is_bool(1 % 0 < 2)', false],
      ["is_bool('true')", false],
      ['is_bool(null)', false],
      ['is_defined(null)', true],
      ['is_defined(undefined)', false],
      ['is_defined(s)', true],
      ['is_defined(missing)', false],
      ['is_defined(nul)', true],
      ['is_defined(1)', true],
      ['is_defined(true)', true],
      ['is_null(null)', true],
      ['is_null(nul)', true],
      ['is_null(missing)', false],
      ['is_null(s)', false],
      ['is_null(undefined)', false],
      ['is_null(1)', false],
      ['is_number(1)', true],
      ['is_number(-2.5)', true],
      ['is_number(1 / 0)', false],
      ['is_number(0 % 0)', false],
      ['is_number(n)', false],
      ['is_number(as_number(n))', true],
      ['is_string(s)', true],
      ["is_string('')", true],
      ['is_string(nul)', false],
      ['is_string(missing)', false],
      ['is_string(1)', false],
      ['is_string(null)', false],
      ['IS_DEFINED(s)', true],
    ],
    msg,
  );
});

test('concat: two or more strings; undefined poisons, null-valued property is empty', () => {
  expectAll(
    [
      ["concat('a', 'b') = 'ab'", true],
      ["concat('a', 'b', 'c', s) = 'abcHello'", true],
      ["concat(s, nul) = 'Hello'", true],
      ["concat(s, missing) = 'Hello'", undefined],
      ["is_defined(concat(missing, 'a'))", false],
      ["concat(empty, empty) = ''", true],
    ],
    msg,
  );
  expectError("concat('a')", RouteBuiltinError, /Invalid arguments to built-in function 'concat' at column 1: got concat\(string\)/);
  expectError("concat('a', null)", RouteBuiltinError, /got concat\(string, null\)/);
  expectError("concat('a', 1)", RouteBuiltinError, /Invalid arguments to built-in function 'concat'/);
});

test('length / lower / upper', () => {
  expectAll(
    [
      ['length(s) = 5', true],
      ["length('') = 0", true],
      ['length(empty) = 0', true],
      ['is_defined(length(nul))', false],
      ['is_defined(length(missing))', false],
      ["lower(s) = 'hello'", true],
      ["upper(s) = 'HELLO'", true],
      ['is_defined(lower(nul))', false],
      ['is_defined(upper(missing))', false],
      ["upper('àé') = 'ÀÉ'", true],
    ],
    msg,
  );
  expectError('length(1)', RouteBuiltinError, /Invalid arguments to built-in function 'length' at column 1: got length\(number\), expected length\(string\)/);
  expectError("lower('a', 'b')", RouteBuiltinError, /Invalid arguments to built-in function 'lower'/);
  expectError('upper()', RouteBuiltinError, /got upper\(\)/);
});

test('substring: 2 and 3 argument forms with their bounds', () => {
  expectAll(
    [
      ["substring(s, 0) = 'Hello'", true],
      ["substring(s, 2) = 'llo'", true],
      ["substring(s, 5) = ''", true], // start == length is allowed with 2 arguments
      ['is_defined(substring(s, 6))', false],
      ['is_defined(substring(s, -1))', false],
      ["substring(s, 1, 3) = 'ell'", true],
      ["substring(s, 0, 5) = 'Hello'", true],
      ["substring(s, 0, 0) = ''", true],
      ['is_defined(substring(s, 5, 0))', false], // start must be < length with 3 arguments
      ['is_defined(substring(s, 1, 5))', false], // len > length - start
      ['is_defined(substring(s, 1, -1))', false],
      ['is_defined(substring(nul, 0))', false],
      ['is_defined(substring(missing, 0, 1))', false],
      ['is_defined(substring(s, 0 % 0))', false],
    ],
    msg,
  );
  const e = expectError("substring('abc', 'b')", RouteBuiltinError, /^Invalid arguments to built-in function 'substring' at column 1: got substring\(string, string\), expected substring\(string, number\) or substring\(string, number, number\)$/);
  assert.equal(e.code, 'ROUTE_BUILTIN_ARGUMENTS');
  expectError("substring('abc')", RouteBuiltinError, /Invalid arguments to built-in function 'substring'/);
  expectError("substring('abc', 1, 2, 3)", RouteBuiltinError, /Invalid arguments to built-in function 'substring'/);
});

test('index_of / starts_with / ends_with / contains: ordinal', () => {
  expectAll(
    [
      ["index_of(s, 'l') = 2", true],
      ["index_of(s, 'L') = -1", true],
      ["index_of(s, '') = 0", true],
      ["is_defined(index_of(nul, 'a'))", false],
      ["starts_with(s, 'He')", true],
      ["starts_with(s, 'he')", false],
      ["ends_with(s, 'llo')", true],
      ["ends_with(s, 'LLO')", false],
      ["contains(s, 'ell')", true],
      ["contains(s, 'x')", false],
      ["contains(s, '')", true],
      ["contains(missing, 'a')", undefined],
      ["starts_with(nul, 'a')", undefined],
      ['ends_with(s, missing)', undefined],
    ],
    msg,
  );
  expectError("index_of('a', 1)", RouteBuiltinError, /Invalid arguments to built-in function 'index_of'/);
  expectError("starts_with('a')", RouteBuiltinError, /Invalid arguments to built-in function 'starts_with'/);
  expectError("ends_with(1, 'a')", RouteBuiltinError, /Invalid arguments to built-in function 'ends_with'/);
  expectError('contains(true, true)', RouteBuiltinError, /Invalid arguments to built-in function 'contains'/);
});

test('math argument errors', () => {
  for (const f of ['abs', 'exp', 'square', 'ceiling', 'floor', 'sign', 'sqrt']) {
    expectError(`${f}('1')`, RouteBuiltinError, new RegExp(`Invalid arguments to built-in function '${f}' at column 1: got ${f}\\(string\\), expected ${f}\\(number\\)`));
    expectError(`${f}(1, 2)`, RouteBuiltinError, /Invalid arguments/);
  }
  expectError('power(1)', RouteBuiltinError, /Invalid arguments to built-in function 'power'/);
  expectError('as_number(true)', RouteBuiltinError, /Invalid arguments to built-in function 'as_number'/);
  expectError('is_defined()', RouteBuiltinError, /Invalid arguments to built-in function 'is_defined'/);
  expectError('is_null(1, 2)', RouteBuiltinError, /Invalid arguments to built-in function 'is_null'/);
});

test('unknown functions', () => {
  const e = expectError("a = 'x' OR nope(1)", RouteBuiltinError, /^Invalid built-in function 'nope' at column 12$/);
  assert.equal(e.code, 'ROUTE_UNKNOWN_BUILTIN');
  expectError('sum(1, 2) = 3', RouteBuiltinError, /Invalid built-in function 'sum'/);
});

test('as_number: the short-decimal fast path is exactly what a full parse gives', async () => {
  const fc = (await import('fast-check')).default;
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }), fc.integer({ min: 0, max: 15 }), (x, digits) => {
      const text = x.toFixed(digits);
      assert.ok(Object.is(parseDotNetNumber(text), Number(text)), text);
    }),
    { numRuns: 5000 },
  );
});
