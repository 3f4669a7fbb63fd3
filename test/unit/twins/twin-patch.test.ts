import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { JsonObject, JsonValue } from '../../../domain/twins/json.js';
import { applyTwinPatch, diffTwinProperties, isEmptyPatch } from '../../../domain/twins/twin-patch.js';

test('merge: null deletes (nested), objects merge, scalars and arrays replace', () => {
  const doc = { a: 1, b: { c: 2, d: { e: 3, f: 4 } }, g: [1, 2], h: 'x' };
  const patch = { a: null, b: { d: { e: null, x: true } }, g: [3], h: { now: 'object' }, i: { j: null, k: 1 } };
  assert.deepEqual(applyTwinPatch(doc, patch), { b: { c: 2, d: { f: 4, x: true } }, g: [3], h: { now: 'object' }, i: { k: 1 } });
  assert.deepEqual(doc, { a: 1, b: { c: 2, d: { e: 3, f: 4 } }, g: [1, 2], h: 'x' }, 'input untouched');
});

test('merge ignores $-keys ($version, $metadata) and deleting a missing key is a no-op', () => {
  assert.deepEqual(applyTwinPatch({ a: 1 }, { $version: 4, $metadata: {}, missing: null }), { a: 1 });
});

test('merge keeps __proto__ as data, never as prototype', () => {
  const patch = JSON.parse('{"__proto__":{"polluted":true}}') as JsonObject;
  const merged = applyTwinPatch({}, patch);
  assert.equal(Object.getPrototypeOf(merged), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(merged, '__proto__')?.value, { polluted: true });
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('diff: changed, added, removed (null), nested, unchanged omitted', () => {
  const from = { a: 1, b: { c: 2, d: 3 }, e: [1], f: 'same', g: { h: 1 } };
  const to = { a: 2, b: { c: 2, x: 9 }, e: [1], f: 'same', g: 5, n: { m: {} } };
  assert.deepEqual(diffTwinProperties(from, to), { a: 2, b: { d: null, x: 9 }, g: 5, n: { m: {} } });
  assert.equal(isEmptyPatch(diffTwinProperties(to, to)), true);
  assert.equal(isEmptyPatch({ $version: 3 }), true);
});

const key = fc.oneof(fc.constantFrom('a', 'b', 'c', 'd', '__proto__', 'constructor'), fc.string({ minLength: 1, maxLength: 6 })).filter((k) => !k.startsWith('$'));
const nonNullLeaf = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)), fc.boolean(), fc.string({ maxLength: 5 }));
const { doc } = fc.letrec<{ doc: JsonObject; value: JsonValue }>((tie) => ({
  doc: fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map((entries) => Object.fromEntries(entries) as JsonObject),
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, nonNullLeaf, fc.array(nonNullLeaf, { maxLength: 3 }), tie('doc')),
}));

test('property: applying diff(a, b) to a yields b', () => {
  fc.assert(
    fc.property(doc, doc, (a, b) => {
      assert.deepEqual(applyTwinPatch(a, diffTwinProperties(a, b)), b);
    }),
    { numRuns: 1000 },
  );
});

test('property: diff(a, a) is empty and diff is minimal (no key of the patch is unchanged)', () => {
  fc.assert(
    fc.property(doc, doc, (a, b) => {
      assert.deepEqual(diffTwinProperties(a, a), {});
      const patch = diffTwinProperties(a, b);
      for (const k of Object.keys(patch)) {
        assert.notDeepEqual(Object.hasOwn(a, k) ? a[k] : undefined, Object.hasOwn(b, k) ? b[k] : undefined, k);
      }
    }),
    { numRuns: 500 },
  );
});
