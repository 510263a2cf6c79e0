import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseAptSimulation, parseDebRelations, parsePackagesText, StanzaReader } from './apt-indexes.ts';

const recorded = (f: string): string => readFileSync(new URL(`testdata/${f}`, import.meta.url), 'utf8');

test('Debian relations: alternatives, version constraints, arch qualifiers and restrictions', () => {
  assert.deepEqual(parseDebRelations('libsemanage1 (<= 2.0.41-1), libsemanage1-dev (<< 2.1.6-3~)'), [
    { name: 'libsemanage1', op: '<=', version: '2.0.41-1' },
    { name: 'libsemanage1-dev', op: '<', version: '2.1.6-3~' },
  ]);
  assert.deepEqual(parseDebRelations('perl:any | perl-base [amd64] <!nocheck>, awk'), [
    { name: 'perl' },
    { name: 'perl-base' },
    { name: 'awk' },
  ]);
  assert.deepEqual(parseDebRelations('x-mail-transport-agent, mail-transport-agent (= 1)'), [
    { name: 'x-mail-transport-agent' },
    { name: 'mail-transport-agent', op: '=', version: '1' },
  ]);
  assert.deepEqual(parseDebRelations(undefined), []);
});

test('stanzas: folded fields join, unread fields are dropped, the last stanza needs no blank line', () => {
  const seen: Record<string, string>[] = [];
  const r = new StanzaReader((f) => seen.push(Object.fromEntries(f)));
  for (const l of ['Package: a', 'Description: x', ' more', 'Provides: b,', ' c', '', '', 'Package: d', 'Version: 1']) r.line(l);
  r.end();
  assert.deepEqual(seen, [
    { Package: 'a', Provides: 'b, c' },
    { Package: 'd', Version: '1' },
  ]);
});

test('real indexes: sources, arch-independent packages and Replaces as recorded', () => {
  const index = parsePackagesText(recorded('bookworm-Packages'));
  assert.deepEqual(
    index.find((p) => p.name === 'libsemanage-common'),
    { name: 'libsemanage-common', arch: 'all', version: '3.4-1', source: 'libsemanage', provides: [], replaces: [] },
  );
  // A binNMU names its source with the source version.
  assert.equal(index.find((p) => p.name === 'libsemanage2')?.source, 'libsemanage');
  const status = parsePackagesText(recorded('bullseye-minbase-status'));
  assert.deepEqual(status.find((p) => p.name === 'libsemanage-common')?.replaces, [
    { name: 'libsemanage1', op: '<=', version: '2.0.41-1' },
    { name: 'libsemanage1-dev', op: '<', version: '2.1.6-3~' },
  ]);
});

test('a real `apt-get -s full-upgrade` of Debian 11 minbase to 12: Inst and Remv lines', () => {
  const plan = parseAptSimulation(recorded('bookworm-full-upgrade-simulation.txt'));
  assert.equal(plan.installs.length, 106, '89 upgraded + 17 newly installed');
  assert.deepEqual(plan.removes, [{ name: 'libsemanage1' }]);
  assert.deepEqual(
    plan.installs.find((i) => i.name === 'libc6'),
    { name: 'libc6', arch: 'amd64', version: '2.36-9+deb12u14' },
  );
  assert.equal(plan.installs.find((i) => i.name === 'tzdata')?.arch, 'all');
  assert.ok(plan.installs.some((i) => i.name === 'libsemanage2'));
});

test('a package apt removes and installs again in the same run is an install, not a removal', () => {
  const plan = parseAptSimulation(recorded('services-bookworm-full-upgrade-simulation.txt'));
  assert.deepEqual(plan.removes, [{ name: 'libsemanage1' }]);
  assert.deepEqual(
    plan.installs.find((i) => i.name === 'cron'),
    { name: 'cron', arch: 'amd64', version: '3.0pl1-162' },
  );
});

test('multiarch names and several origins in one Inst line', () => {
  const plan = parseAptSimulation(
    [
      'Inst libc6:i386 [2.31-13] (2.36-9 Debian:12.1/stable, Debian-Security:12/stable-security [i386]) [libc6:amd64 ]',
      'Remv libfoo1:i386 [1.0-1]',
      'Conf libc6:i386 (2.36-9 Debian:12.1/stable [i386])',
    ].join('\n'),
  );
  assert.deepEqual(plan, { installs: [{ name: 'libc6', arch: 'i386', version: '2.36-9' }], removes: [{ name: 'libfoo1', arch: 'i386' }] });
});
