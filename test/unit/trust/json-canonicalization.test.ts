import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize, CanonicalizationError } from '../../../domain/trust/json-canonicalization.js';

// RFC 8785 (JSON Canonicalization Scheme), checked against the RFC's own examples.

function fromIeee754(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

test('RFC 8785 appendix B: number serialization samples', () => {
  const samples: Array<[string, string]> = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  for (const [hex, expected] of samples) assert.equal(canonicalize(fromIeee754(hex)), expected, hex);
  for (const hex of ['7fffffffffffffff', '7ff0000000000000']) assert.throws(() => canonicalize(fromIeee754(hex)), CanonicalizationError, `${hex}: NaN and Infinity are not JSON`);
});

test('RFC 8785 3.2.2: whitespace removed, literals, numbers and minimal string escapes', () => {
  const input = `{
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
    "literals": [null, true, false]
  }`;
  assert.equal(canonicalize(JSON.parse(input)), '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
});

test('RFC 8785 3.2.3: properties sorted by UTF-16 code units (not code points or locale), recursively', () => {
  const input = '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}';
  const expected = '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
  assert.equal(canonicalize(JSON.parse(input)), expected);
  assert.equal(canonicalize({ b: { d: [{ z: 1, a: 2 }], c: null }, a: [] }), '{"a":[],"b":{"c":null,"d":[{"a":2,"z":1}]}}');
});

test('what is not I-JSON is refused: lone surrogates, undefined, functions', () => {
  assert.throws(() => canonicalize({ a: '\ud800' }), /unpaired surrogate/);
  assert.throws(() => canonicalize({ '\udc00': 1 }), /unpaired surrogate/);
  assert.throws(() => canonicalize([undefined]), /undefined is not a JSON value/);
  assert.throws(() => canonicalize(() => 1), /function is not a JSON value/);
  assert.equal(canonicalize('😀'), '"😀"', 'a surrogate pair is fine');
});
