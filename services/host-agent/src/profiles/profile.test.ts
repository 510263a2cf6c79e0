import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { BUILTIN_PROFILES_DIR, loadProfiles, ProfileError, parseProfile } from './profile.ts';

const debian = (): Promise<string> => readFile(path.join(BUILTIN_PROFILES_DIR, 'debian-11-to-12.yaml'), 'utf8');

test('the built-in profiles load', async () => {
  const profiles = await loadProfiles();
  assert.ok(profiles.has('debian-11-to-12'));
  for (const p of profiles.values()) assert.ok(p.backup.paths.length > 0, `${p.name} backs up nothing`);
});

test('backup paths must be absolute paths below the root', async () => {
  const text = await debian();
  for (const bad of ['[/]', '[etc]', '[]']) {
    assert.throws(
      () => parseProfile(text.replace('paths: [/etc]', `paths: ${bad}`), 'debian-11-to-12.yaml'),
      /debian-11-to-12\.yaml: .*backup\/paths/,
      bad,
    );
  }
  assert.throws(() => parseProfile(text.replace('paths: [/etc]', 'paths: [/etc]\n  fullRoot: true'), 'debian-11-to-12.yaml'), /fullRoot/);
  // The rule a backup's manifest is held to, so a profile cannot make a backup that no restore accepts.
  for (const [bad, why] of [
    ["['/etc/../root/.ssh']", /has a `\.\.` segment/],
    ["['/etc/']", /is not normalized/],
    ["['/etc//cron.d']", /is not normalized/],
  ] as const) {
    assert.throws(
      () => parseProfile(text.replace('paths: [/etc]', `paths: ${bad}`), 'debian-11-to-12.yaml'),
      (e: unknown) => e instanceof ProfileError && /debian-11-to-12\.yaml: \/backup\/paths: "/.test(e.message) && why.test(e.message),
      bad,
    );
  }
});

test('rollback: a profile may require a strategy; absent, any; anything else names the field', async () => {
  const text = await debian();
  assert.equal(parseProfile(text, 'debian-11-to-12.yaml').rollback, 'any');
  assert.equal(parseProfile(`${text}rollback: snapshot\n`, 'debian-11-to-12.yaml').rollback, 'snapshot');
  assert.throws(
    () => parseProfile(`${text}rollback: zfs\n`, 'debian-11-to-12.yaml'),
    /debian-11-to-12\.yaml: \/rollback must be equal to one of/,
  );
});
