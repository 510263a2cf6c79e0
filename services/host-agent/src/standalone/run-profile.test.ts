import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadProfiles, type Profile, ProfileError, withMirrors } from '../profiles/profile.ts';
import { chooseProfile } from './run-profile.ts';

const where = { root: '/srv/ct101', stateFile: '/var/lib/yixing/runs/root-x.json' };
const shipped = await loadProfiles();
const debian = shipped.get('debian-11-to-12') as Profile;
/** The profile as a run used it: with a mirror (and the aliases withMirrors records). */
const asRun: Profile = withMirrors(debian, { 'http://deb.debian.org/debian': 'http://mirror.lan/debian' });

test('a rollback uses the profile its run recorded, without --profile, --profiles-dir or --mirror', () => {
  const c = chooseProfile('rollback', undefined, { profile: 'debian-11-to-12', profileDefinition: asRun, end: 'failed' }, shipped, where);
  assert.ok(c.ok);
  assert.equal(c.fromRecord, true);
  assert.equal(c.profile.apt?.sourceRepositories[0]?.uri, 'http://mirror.lan/debian');
});

test('a run recorded only by its name (older state) rolls back with the offered profile of that name', () => {
  const c = chooseProfile('rollback', undefined, { profile: 'debian-11-to-12' }, shipped, where);
  assert.ok(c.ok && !c.fromRecord && c.profile === debian);
});

test('a site profile the rollback no longer offers is still found in the record', () => {
  const site = { ...asRun, name: 'site-debian-11-to-12' };
  const c = chooseProfile('rollback', undefined, { profile: site.name, profileDefinition: site }, shipped, where);
  assert.ok(c.ok && c.profile.name === 'site-debian-11-to-12');
});

test('an unfinished migration resumes with its recorded profile; a new one takes the offered profile', () => {
  const rec = { profile: 'debian-11-to-12', profileDefinition: asRun };
  const resumed = chooseProfile('migrate', 'debian-11-to-12', rec, shipped, where);
  assert.ok(resumed.ok && resumed.fromRecord);
  const fresh = chooseProfile('migrate', 'debian-11-to-12', { ...rec, end: 'migrated' }, shipped, where);
  assert.ok(fresh.ok && !fresh.fromRecord);
});

test('nothing recorded, no name, an unknown name, or a damaged record: clear errors', () => {
  assert.deepEqual(chooseProfile('rollback', undefined, undefined, shipped, where), {
    ok: false,
    message: 'no migration of /srv/ct101 is recorded; nothing to roll back',
  });
  assert.deepEqual(chooseProfile('migrate', undefined, undefined, shipped, where), { ok: false, message: '--profile is required' });
  const unknown = chooseProfile('migrate', 'nope', undefined, shipped, where);
  assert.ok(!unknown.ok && unknown.message.startsWith('no profile nope (have: '));
  assert.throws(
    () =>
      chooseProfile('rollback', undefined, { profile: 'debian-11-to-12', profileDefinition: { name: 'debian-11-to-12' } }, shipped, where),
    (e: unknown) => e instanceof ProfileError && e.message.includes('/var/lib/yixing/runs/root-x.json (profile of the run)'),
  );
});
