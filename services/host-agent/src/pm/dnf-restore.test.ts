import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cLibraryNames, cutShort, strayDuplicates, transactionScript } from './dnf-restore.ts';
import { nevra } from './dnf-root.ts';
import { type InstalledPackage, ManifestEntryError } from './package-manager.ts';

const pkg = (name: string, version: string, arch = 'x86_64', source?: string): InstalledPackage => ({
  name,
  arch,
  version,
  held: false,
  ...(source ? { source } : {}),
});

test('a phase is one dnf shell transaction: exact NEVRAs to install, reinstall and remove, then run', () => {
  const script = transactionScript(
    {
      name: 'userland',
      install: [pkg('bash', '0:4.2.46-35.el7_9'), pkg('tzdata', '2:2023c-1.el7', 'noarch')],
      remove: [pkg('authselect', '0:1.2.5-1.oe2203', 'noarch')],
    },
    [pkg('app-base', '0:1.0-1.el7', 'noarch')],
  );
  assert.equal(
    script,
    [
      'install bash-4.2.46-35.el7_9.x86_64 tzdata-2:2023c-1.el7.noarch',
      'reinstall app-base-1.0-1.el7.noarch',
      'remove authselect-1.2.5-1.oe2203.noarch',
      'run',
      '',
    ].join('\n'),
  );
  assert.equal(
    transactionScript({ name: 'c-library', install: [pkg('glibc', '0:2.17-326.el7_9')], remove: [] }),
    'install glibc-2.17-326.el7_9.x86_64\nrun\n',
  );
});

test('a killed transaction’s duplicate entries: all but the recorded version go', () => {
  const manifest = [pkg('bash', '0:4.2.46-35.el7_9'), pkg('glibc', '0:2.17-326.el7_9')];
  const installed = [pkg('bash', '0:4.2.46-35.el7_9'), pkg('bash', '0:5.1.8-6.oe2203'), pkg('glibc', '0:2.34-70.oe2203')];
  assert.deepEqual(strayDuplicates(installed, manifest), [pkg('bash', '0:5.1.8-6.oe2203')]);
  // Neither is the recorded one (a manifest of another version): one stays for the dependencies.
  assert.deepEqual(strayDuplicates([pkg('libfoo', '0:2.0-1'), pkg('libfoo', '0:3.0-1')], [pkg('libfoo', '0:1.0-1')]), [
    pkg('libfoo', '0:3.0-1'),
  ]);
  // The same name on two architectures is not a duplicate.
  assert.deepEqual(strayDuplicates([pkg('glibc', '0:2.17-1'), pkg('glibc', '0:2.17-1', 'i686')], manifest), []);
});

test('the C library is every package built from glibc, by its source, else by its name', () => {
  const installed = [
    pkg('glibc', '0:2.34-70', 'x86_64', 'glibc'),
    pkg('glibc-common', '0:2.34-70', 'x86_64', 'glibc'),
    pkg('glibc-langpack-en', '0:2.34-70', 'x86_64', 'glibc'),
    pkg('bash', '0:5.1.8-6', 'x86_64', 'bash'),
    pkg('libxcrypt', '0:4.4.26-4', 'x86_64', 'libxcrypt'),
  ];
  assert.deepEqual(cLibraryNames(installed), ['glibc', 'glibc-common', 'glibc-langpack-en']);
  assert.deepEqual(cLibraryNames([pkg('glibc', '0:2.17-326')]), ['glibc'], 'a manifest without sources: the name');
});

test('packages a killed phase had installed are installed again; a checked phase or another phase: none', () => {
  const installed = [pkg('bash', '0:4.2.46-35.el7_9'), pkg('app-base', '0:1.1-1.oe2203', 'noarch'), pkg('glibc', '0:2.34-70.oe2203')];
  const saved = {
    dnfRestore: { phase: 'userland', installs: ['bash-4.2.46-35.el7_9.x86_64', 'app-base-1.0-1.el7.noarch'], checked: false },
  };
  // app-base was not reached (still the newer one): the phase's plan installs it anyway.
  assert.deepEqual(cutShort(saved, 'userland', installed), [pkg('bash', '0:4.2.46-35.el7_9')]);
  assert.deepEqual(cutShort(saved, 'c-library', installed), []);
  assert.deepEqual(cutShort({ dnfRestore: { ...saved.dnfRestore, checked: true } }, 'userland', installed), []);
  assert.deepEqual(cutShort(undefined, 'userland', installed), []);
  assert.deepEqual(cutShort({ other: 'step data' }, 'userland', installed), []);
});

test('a manifest entry that is not a package never reaches a dnf script or an rpm command line', () => {
  for (const [bad, field] of [
    [pkg('--foo', '1.0-1'), /name "--foo" is not a package name/],
    [pkg('bash\nrun\nremove glibc', '1.0-1'), /name .* is not a package name/],
    [pkg('bash', '1.0-1 glibc'), /version "1.0-1 glibc" is not a package version/],
    [pkg('bash', '1.0-1', '-noarch'), /arch "-noarch" is not an architecture/],
  ] as const) {
    for (const phase of [
      { name: 'userland' as const, install: [bad], remove: [] },
      { name: 'userland' as const, install: [], remove: [bad] },
    ]) {
      assert.throws(
        () => transactionScript(phase),
        (e: unknown) => e instanceof ManifestEntryError && e.code === 'MANIFEST_ENTRY_INVALID' && field.test(e.message),
      );
    }
  }
  assert.equal(nevra(pkg('NetworkManager', '1:1.18.8-2.el7_9')), 'NetworkManager-1:1.18.8-2.el7_9.x86_64');
});
