import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ConfigError } from '@yixing/common';
import { type KeySettings, loadKeys } from './key-ring.ts';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const files: Record<string, Buffer> = {
  '/keys/current': Buffer.from(k1.toString('hex')),
  '/keys/old': Buffer.from(k2.toString('base64')),
  '/keys/short': Buffer.from('abcd'),
};
const read = async (f: string): Promise<Buffer> => {
  const b = files[f];
  if (!b) throw new Error('ENOENT: no such file');
  return b;
};
const none: KeySettings = { keyFile: '', key: '', keyId: '', encrypt: true, retiredKeyFiles: '' };

test('no key: backups are stored as uploaded', async () => {
  const keys = await loadKeys(none, read);
  assert.equal(keys.sealing, undefined);
  assert.equal(keys.byId.size, 0);
});

test('the current key seals, retired keys only open', async () => {
  const keys = await loadKeys({ ...none, keyFile: '/keys/current', keyId: 'k-2026', retiredKeyFiles: 'k-2025=/keys/old' }, read);
  assert.equal(keys.sealing?.id, 'k-2026');
  assert.ok(keys.sealing?.key.equals(k1));
  assert.deepEqual([...keys.byId.keys()].sort(), ['k-2025', 'k-2026']);
  assert.ok(keys.byId.get('k-2025')?.key.equals(k2));
  // A retired key without an id gets the id derived from it, as when it was current.
  const derived = await loadKeys({ ...none, key: k1.toString('hex'), retiredKeyFiles: '/keys/old' }, read);
  assert.match(derived.sealing?.id ?? '', /^k-[0-9a-f]{16}$/);
  assert.equal(derived.byId.size, 2);
  assert.equal((await loadKeys({ ...none, key: k1.toString('hex'), encrypt: false }, read)).sealing, undefined);
});

test('bad key settings fail naming the variable', async () => {
  const cases: [Partial<KeySettings>, RegExp][] = [
    [{ keyFile: '/keys/current', key: k1.toString('hex') }, /both set/],
    [{ keyFile: '/keys/missing' }, /^YX_BACKUP_KEY_FILE: cannot read \/keys\/missing/],
    [{ keyFile: '/keys/short' }, /^YX_BACKUP_KEY_FILE: \/keys\/short: an AES-256 key is 32 bytes/],
    [{ key: 'abcd' }, /^YX_BACKUP_KEY: an AES-256 key is 32 bytes/],
    [{ retiredKeyFiles: 'old=/keys/missing' }, /^YX_BACKUP_RETIRED_KEY_FILES: cannot read \/keys\/missing/],
    [{ keyFile: '/keys/current', keyId: 'same', retiredKeyFiles: 'same=/keys/old' }, /key id same names both/],
  ];
  for (const [s, message] of cases)
    await assert.rejects(loadKeys({ ...none, ...s }, read), (e: unknown) => e instanceof ConfigError && message.test(e.message));
});
