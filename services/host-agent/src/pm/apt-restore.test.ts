import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aptInstallSpec, aptRemoveSpec, archiveFileName, ManifestEntryError, settleInterrupted, userlandArgs } from './apt-restore.ts';
import type { DpkgState } from './apt-root.ts';
import type { InstalledPackage } from './package-manager.ts';

const pkg = (name: string, version: string, arch = 'amd64', source?: string): InstalledPackage => ({
  name,
  arch,
  version,
  held: false,
  ...(source ? { source } : {}),
});

test('apt is asked for exact name:arch=version installs and name:arch- removals', () => {
  assert.equal(aptInstallSpec(pkg('zlib1g', '1:1.2.11.dfsg-2+deb11u2')), 'zlib1g:amd64=1:1.2.11.dfsg-2+deb11u2');
  assert.equal(aptInstallSpec(pkg('libstdc++6', '10.2.1-6')), 'libstdc++6:amd64=10.2.1-6');
  assert.equal(aptRemoveSpec(pkg('perl-modules-5.36', '5.36.0-7', 'all')), 'perl-modules-5.36:all-');
});

test("apt's archive file name writes the epoch's colon as %3a", () => {
  assert.equal(archiveFileName(pkg('libc6', '2.31-13+deb11u11')), 'libc6_2.31-13+deb11u11_amd64.deb');
  assert.equal(archiveFileName(pkg('bsdutils', '1:2.36.1-8+deb11u2')), 'bsdutils_1%3a2.36.1-8+deb11u2_amd64.deb');
  assert.equal(archiveFileName(pkg('locales', '2.31-13+deb11u11', 'all')), 'locales_2.31-13+deb11u11_all.deb');
});

test('a manifest entry that is not a Debian package, architecture or version is refused, never passed to apt', () => {
  for (const [bad, field] of [
    [pkg('-o=APT::Get::Foo', '1.0'), 'name'],
    [pkg('Bash', '5.1'), 'name'],
    [pkg('bash', '5.1', 'amd64 i386'), 'architecture'],
    [pkg('bash', '5.1 --purge'), 'version'],
    [pkg('bash', ''), 'version'],
  ] as const) {
    assert.throws(
      () => aptInstallSpec(bad),
      (err: unknown) => err instanceof ManifestEntryError && err.code === 'MANIFEST_ENTRY_INVALID' && err.details.field === field,
      JSON.stringify(bad),
    );
  }
});

test('the userland phase names the C library at its installed versions, so apt cannot move it', () => {
  const installed = [
    pkg('libc6', '2.36-9', 'amd64', 'glibc'),
    pkg('locales', '2.36-9', 'all', 'glibc'),
    pkg('dash', '0.5.12-2'),
    pkg('libssl3', '3.0.11-1', 'amd64', 'openssl'),
  ];
  const args = userlandArgs({ name: 'userland', install: [pkg('dash', '0.5.11-5')], remove: [pkg('libssl3', '3.0.11-1')] }, installed);
  assert.deepEqual(args, [
    '--purge',
    '--allow-remove-essential',
    '--allow-change-held-packages',
    'install',
    '--',
    'dash:amd64=0.5.11-5',
    'libc6:amd64=2.36-9',
    'locales:all=2.36-9',
    'libssl3:amd64-',
  ]);
});

test('a killed run: a package needing reinstallation is unpacked at its recorded version, an added one purged, the C library left to its phase', () => {
  const state = (name: string, version: string, source = name, reinstRequired = true): DpkgState => ({
    name,
    arch: 'amd64',
    version,
    source,
    held: false,
    status: reinstRequired ? 'H' : 'i',
    reinstRequired,
  });
  const manifest = [pkg('exim4-base', '4.94.2-7+deb11u3'), pkg('libc6', '2.31-13+deb11u11', 'amd64', 'glibc'), pkg('dash', '0.5.11-5')];
  const { unpack, purge } = settleInterrupted(
    [
      state('exim4-base', '4.96-15+deb12u7'),
      state('libc6', '2.36-9+deb12u14', 'glibc'),
      state('libssl3', '3.0.11-1', 'openssl'),
      state('dash', '0.5.12-2', 'dash', false),
    ],
    manifest,
  );
  assert.deepEqual(
    unpack.map((p) => `${p.name}=${p.version}`),
    ['exim4-base=4.94.2-7+deb11u3'],
  );
  assert.deepEqual(
    purge.map((p) => p.name),
    ['libssl3'],
  );
  assert.deepEqual(
    settleInterrupted([state('dash', '0.5.12-2', 'dash', false)], manifest),
    { unpack: [], purge: [] },
    'nothing killed, nothing to settle',
  );
});
