import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CATALOGS, DEFAULT_LANGUAGE, keysOf, LANGUAGES, placeholdersOf } from './catalogs.ts';

const valueAt = (catalog: object, key: string): unknown =>
  key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], catalog);

test('every language has the same keys as English, none empty', () => {
  const english = keysOf(CATALOGS.en);
  assert.ok(english.length > 20);
  for (const lang of LANGUAGES) {
    assert.deepEqual(keysOf(CATALOGS[lang]), english, `${lang} catalog keys differ from en`);
    for (const key of english) assert.notEqual(String(valueAt(CATALOGS[lang], key)).trim(), '', `${lang}: ${key} is empty`);
  }
});

test('a translation uses the same placeholders as English', () => {
  for (const key of keysOf(CATALOGS.en)) {
    const english = placeholdersOf(String(valueAt(CATALOGS.en, key)));
    for (const lang of LANGUAGES) assert.deepEqual(placeholdersOf(String(valueAt(CATALOGS[lang], key))), english, `${lang}: ${key}`);
  }
});

test('Chinese is the default, and it is translated (not English copied)', () => {
  assert.equal(DEFAULT_LANGUAGE, 'zh-CN');
  assert.notEqual(CATALOGS['zh-CN'].fleet.title, CATALOGS.en.fleet.title);
});

test('keysOf names nested keys by their dotted path', () => {
  assert.deepEqual(keysOf({ b: 'x', a: { c: 'y' } }), ['a.c', 'b']);
});
