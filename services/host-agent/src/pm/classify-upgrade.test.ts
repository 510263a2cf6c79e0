import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseAptSimulation, parsePackagesText } from './apt-indexes.ts';
import { classifyUpgrade, type OfferedPackage } from './classify-upgrade.ts';
import type { InstalledPackage, PackageChange, PackageFate } from './package-manager.ts';
import { compareDebianVersions, compareRpmVersions } from './version-compare.ts';

const offered = (name: string, version: string, arch: string, extra: Partial<OfferedPackage>): OfferedPackage => ({
  name,
  arch,
  version,
  provides: [],
  replaces: [],
  ...extra,
});
const recorded = (f: string): string => readFileSync(new URL(`testdata/${f}`, import.meta.url), 'utf8');
const fates = (changes: PackageChange[], fate: PackageFate): string[] =>
  changes
    .filter((c) => c.fate === fate)
    .map((c) => c.name)
    .sort();

// Recorded on a debootstrap --variant=minbase bullseye root against the real bullseye and
// bookworm archives: the dpkg status, both indexes (the stanzas of the packages concerned)
// and `apt-get -s full-upgrade`.
const status = parsePackagesText(recorded('bullseye-minbase-status'));
const installed: InstalledPackage[] = status.map((p) => ({
  name: p.name,
  arch: p.arch,
  version: p.version,
  held: false,
  source: p.source ?? p.name,
}));
const bullseye = parsePackagesText(recorded('bullseye-Packages'));
const bookworm = parsePackagesText(recorded('bookworm-Packages'));
const plan = parseAptSimulation(recorded('bookworm-full-upgrade-simulation.txt'));

test('Debian 11 minbase → 12: only the packages bookworm really lacks are orphaned; the rest upgrade', () => {
  const changes = classifyUpgrade({ installed, source: bullseye, target: bookworm, plan, compare: compareDebianVersions });
  assert.equal(changes.filter((c) => c.from).length, installed.length, 'every installed package is classified');
  assert.deepEqual(fates(changes, 'orphaned'), ['gcc-10-base', 'gcc-9-base', 'libffi7', 'libsepol1', 'libssl1.1']);
  // The old preview's false alarm named these; bookworm offers every one.
  for (const n of ['bsdutils', 'dash', 'e2fsprogs', 'passwd', 'zlib1g', 'libstdc++6', 'tzdata']) {
    assert.equal(changes.find((c) => c.name === n)?.fate, 'upgraded', n);
  }
  assert.deepEqual(fates(changes, 'unchanged'), ['libnsl2'], 'the same version in both releases');
  assert.deepEqual(
    changes.find((c) => c.name === 'libsemanage1'),
    { name: 'libsemanage1', arch: 'amd64', from: '3.1-1+b2', fate: 'replaced', by: 'libsemanage2' },
    'a renamed build of the same source takes its place',
  );
  assert.deepEqual(fates(changes, 'removed'), []);
  assert.deepEqual(fates(changes, 'foreign'), []);
  assert.equal(fates(changes, 'upgraded').length, 89);
  assert.equal(fates(changes, 'new').length, 17);
  assert.deepEqual(
    changes.find((c) => c.name === 'libc6'),
    { name: 'libc6', arch: 'amd64', from: '2.31-13+deb11u11', to: '2.36-9+deb12u14', fate: 'upgraded' },
  );
});

test('Debian 11 with nginx, PostgreSQL 13, exim4 and cron → 12: PostgreSQL 13 and the old libraries are orphaned, cron upgraded', () => {
  // Recorded on the services root (minbase + nginx postgresql exim4-daemon-light cron)
  // against the real archives.
  const status = parsePackagesText(recorded('services-bullseye-status'));
  const changes = classifyUpgrade({
    installed: status.map((p) => ({ name: p.name, arch: p.arch, version: p.version, held: false, source: p.source ?? p.name })),
    source: parsePackagesText(recorded('services-bullseye-Packages')),
    target: parsePackagesText(recorded('services-bookworm-Packages')),
    plan: parseAptSimulation(recorded('services-bookworm-full-upgrade-simulation.txt')),
    compare: compareDebianVersions,
  });
  assert.deepEqual(fates(changes, 'orphaned'), [
    'gcc-10-base',
    'gcc-9-base',
    'libbpf0',
    'libffi7',
    'libicu67',
    'libidn11',
    'libldap-2.4-2',
    'libllvm11',
    'libperl5.32',
    'libsepol1',
    'libssl1.1',
    'libtiff5',
    'libwebp6',
    'perl-modules-5.32',
    'postgresql-13',
    'postgresql-client-13',
  ]);
  // apt removes cron and installs it again to order cron-daemon-common first.
  assert.equal(changes.find((c) => c.name === 'cron')?.fate, 'upgraded');
  assert.deepEqual(fates(changes, 'replaced'), ['libsemanage1']);
  assert.deepEqual(fates(changes, 'removed'), []);
  assert.deepEqual(fates(changes, 'foreign'), []);
  for (const n of ['nginx', 'postgresql', 'exim4-daemon-light', 'bsdutils', 'dash', 'zlib1g']) {
    assert.equal(changes.find((c) => c.name === n)?.fate, 'upgraded', n);
  }
});

test('a package at a version no source repository offers is foreign, wherever the upgrade takes it', () => {
  const withLocal: InstalledPackage[] = [
    ...installed.map((p) => (p.name === 'gzip' ? { ...p, version: `${p.version}+local1` } : p)),
    { name: 'acme-agent', arch: 'amd64', version: '4.2-1', held: false },
  ];
  const changes = classifyUpgrade({ installed: withLocal, source: bullseye, target: bookworm, plan, compare: compareDebianVersions });
  assert.deepEqual(fates(changes, 'foreign'), ['acme-agent', 'gzip']);
  assert.equal(changes.find((c) => c.name === 'gzip')?.to, plan.installs.find((i) => i.name === 'gzip')?.version);
  // Unreadable source repositories: nothing is called foreign.
  const blind = classifyUpgrade({ installed: withLocal, source: null, target: bookworm, plan, compare: compareDebianVersions });
  assert.deepEqual(fates(blind, 'foreign'), []);
  assert.equal(blind.find((c) => c.name === 'acme-agent')?.fate, 'orphaned');
});

test('a removal with nothing taking its place is removed; Replaces and Provides of what arrives make it replaced', () => {
  const pkg = (name: string, version: string, extra: Partial<OfferedPackage> = {}): OfferedPackage =>
    offered(name, version, 'amd64', extra);
  const inst: InstalledPackage[] = [
    { name: 'mailx', arch: 'amd64', version: '1:8.1.2', held: false },
    { name: 'oldplug', arch: 'amd64', version: '1.0', held: false, source: 'app' },
    { name: 'app', arch: 'amd64', version: '1.0', held: false },
    { name: 'ntp', arch: 'amd64', version: '4.2', held: false },
  ];
  const target = [
    pkg('bsd-mailx', '8.1.2-0.2', { replaces: [{ name: 'mailx', op: '<', version: '1:20081101-2' }] }),
    pkg('app', '2.0'),
    pkg('ntpsec', '1.2', { provides: [{ name: 'ntp' }] }),
    // Replaces only an older oldplug: not what is installed.
    pkg('app-extra', '2.0', { source: 'other', replaces: [{ name: 'oldplug', op: '<', version: '0.5' }] }),
  ];
  const changes = classifyUpgrade({
    installed: inst,
    source: inst.map((p) => pkg(p.name, p.version)),
    target,
    plan: {
      installs: [
        { name: 'bsd-mailx', arch: 'amd64', version: '8.1.2-0.2' },
        { name: 'app', arch: 'amd64', version: '2.0' },
        { name: 'ntpsec', arch: 'amd64', version: '1.2' },
        { name: 'app-extra', arch: 'amd64', version: '2.0' },
      ],
      removes: [{ name: 'mailx' }, { name: 'oldplug' }, { name: 'ntp' }],
    },
    compare: compareDebianVersions,
  });
  assert.deepEqual(
    changes.map((c) => `${c.name} ${c.fate}${c.by ? ` by ${c.by}` : ''}`),
    [
      'mailx replaced by bsd-mailx',
      // Its source's package was upgraded, not renamed: the plugin is dropped.
      'oldplug removed',
      'app upgraded',
      'ntp replaced by ntpsec',
      'bsd-mailx new',
      'ntpsec new',
      'app-extra new',
    ],
  );
});

test('rpm: the swapped release package and an obsoleted one are replaced; one without a target candidate is orphaned', () => {
  const rpm = (name: string, version: string, extra: Partial<OfferedPackage> = {}): OfferedPackage =>
    offered(name, version, 'noarch', extra);
  const source = [
    rpm('centos-release', '7-9.2009.1.el7.centos'),
    rpm('old-tool', '1.0-1.el7'),
    rpm('legacy', '1.0-3.el7'),
    rpm('libfoo', '1.0-1.el7'),
  ];
  const installed: InstalledPackage[] = [...source.map((p) => ({ name: p.name, arch: 'noarch', version: `0:${p.version}`, held: false }))];
  const target = [
    rpm('openEuler-release', '22.03LTS-52.oe2203', { provides: [{ name: 'system-release' }] }),
    rpm('new-tool', '2.0-1.oe2203', {
      replaces: [{ name: 'old-tool', op: '<', version: '2.0' }],
      provides: [{ name: 'old-tool', op: '=', version: '2.0' }],
    }),
    rpm('libfoo', '2.0-1.oe2203'),
  ];
  const classify = (replacedBy?: Map<string, string[]>): PackageChange[] =>
    classifyUpgrade({
      installed,
      source: source.map((p) => ({ ...p, version: `0:${p.version}` })),
      target: target.map((p) => ({ ...p, version: `0:${p.version}` })),
      plan: {
        installs: [
          { name: 'new-tool', arch: 'noarch', version: '0:2.0-1.oe2203' },
          { name: 'libfoo', arch: 'noarch', version: '0:2.0-1.oe2203' },
        ],
        removes: [{ name: 'old-tool', arch: 'noarch' }],
        ...(replacedBy ? { replacedBy } : {}),
      },
      releaseSwap: { remove: ['centos-release', 'centos-stream-release'], install: ['openEuler-release'] },
      compare: compareRpmVersions,
    });
  const changes = classify(new Map([['old-tool', ['new-tool']]]));
  assert.deepEqual(classify(), changes, "the target's Obsoletes say what dnf's table says");
  assert.deepEqual(
    changes.map((c) => `${c.name} ${c.fate}${c.by ? ` by ${c.by}` : ''}${c.to ? ` to ${c.to}` : ''}`),
    [
      'centos-release replaced by openEuler-release',
      'old-tool replaced by new-tool',
      'legacy orphaned',
      'libfoo upgraded to 0:2.0-1.oe2203',
      'new-tool new to 0:2.0-1.oe2203',
      'openEuler-release new to 0:22.03LTS-52.oe2203',
    ],
  );
});
