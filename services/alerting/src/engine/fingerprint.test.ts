import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fingerprint } from './fingerprint.ts';

test('a fingerprint is 16 hex characters and stable across runs', () => {
  const fp = fingerprint({ alertname: 'StepFailed', host: 'h1' });
  assert.match(fp, /^[0-9a-f]{16}$/);
  assert.equal(fp, fingerprint({ alertname: 'StepFailed', host: 'h1' }));
});

test('the order labels are given in does not matter', () => {
  assert.equal(fingerprint({ a: '1', b: '2', c: '3' }), fingerprint({ c: '3', a: '1', b: '2' }));
});

test('moving characters between names and values changes the fingerprint', () => {
  const seen = new Set([
    fingerprint({ ab: 'c' }),
    fingerprint({ a: 'bc' }),
    fingerprint({ a: 'b', c: '' + 'd' }),
    fingerprint({ a: 'b,c', d: '' }),
    fingerprint({ 'a"': 'b' }),
    fingerprint({ a: '"b' }),
    fingerprint({ a: 'b\u0000c' }),
    fingerprint({ a: 'b', c: 'x' }),
  ]);
  assert.equal(seen.size, 8);
});

test('an empty value is the same as no label, as in Alertmanager', () => {
  assert.equal(fingerprint({ a: '1', b: '' }), fingerprint({ a: '1' }));
  assert.match(fingerprint({}), /^[0-9a-f]{16}$/);
});

test('any label set: the same fingerprint in any order; a changed value changes it', () => {
  const labels = fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.string({ minLength: 1, maxLength: 6 }), {
    minKeys: 1,
    maxKeys: 6,
  });
  fc.assert(
    fc.property(labels, (l) => {
      const reversed = Object.fromEntries(Object.entries(l).reverse());
      assert.equal(fingerprint(reversed), fingerprint(l));
      const [name, value] = Object.entries(l)[0]!;
      assert.notEqual(fingerprint({ ...l, [name]: `${value}x` }), fingerprint(l));
    }),
    { numRuns: 300 },
  );
});
