import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InstalledPackage } from './package-manager.ts';
import { planRestore } from './restore-plan.ts';

const pkg = (name: string, version: string, source?: string): InstalledPackage => ({
  name,
  arch: 'amd64',
  version,
  held: false,
  ...(source ? { source } : {}),
});
const names = (ps: InstalledPackage[]): string[] => ps.map((p) => `${p.name}=${p.version}`);

const bullseye = [pkg('libc6', '2.31-13', 'glibc'), pkg('libc-bin', '2.31-13', 'glibc'), pkg('dash', '0.5.11'), pkg('gzip', '1.10')];
const bookworm = [
  pkg('libc6', '2.36-9', 'glibc'),
  pkg('libc-bin', '2.36-9', 'glibc'),
  pkg('dash', '0.5.12'),
  pkg('gzip', '1.10'),
  pkg('libnew1', '1.0'),
];

test('the C library goes back last, after every other package is at its recorded version', () => {
  const phases = planRestore(bullseye, bookworm);
  assert.deepEqual(
    phases.map((p) => ({ name: p.name, install: names(p.install), remove: names(p.remove) })),
    [
      { name: 'userland', install: ['dash=0.5.11'], remove: ['libnew1=1.0'] },
      { name: 'c-library', install: ['libc6=2.31-13', 'libc-bin=2.31-13'], remove: [] },
    ],
  );
});

test('a rollback resumed after the userland phase plans only the C library', () => {
  const halfway = [...bullseye.filter((p) => !p.name.startsWith('libc')), ...bookworm.filter((p) => p.name.startsWith('libc'))];
  assert.deepEqual(
    planRestore(bullseye, halfway).map((p) => p.name),
    ['c-library'],
  );
});

test('nothing to do when the sets are equal; a held flag is not a difference', () => {
  assert.deepEqual(
    planRestore(
      bullseye,
      bullseye.map((p) => ({ ...p, held: true })),
    ),
    [],
  );
});

test('a manifest without sources takes them from the root, else from the name', () => {
  const oldManifest = bullseye.map(({ source: _s, ...p }) => p);
  const phases = planRestore(oldManifest, bookworm);
  assert.deepEqual(names(phases.find((p) => p.name === 'c-library')?.install ?? []), ['libc6=2.31-13', 'libc-bin=2.31-13']);
  // No source anywhere: a package named like a last source is the C library (rpm's glibc).
  const rpm = planRestore([pkg('glibc', '2.17'), pkg('bash', '4.2')], [pkg('glibc', '2.34'), pkg('bash', '5.1')]);
  assert.deepEqual(
    rpm.map((p) => [p.name, names(p.install)]),
    [
      ['userland', ['bash=4.2']],
      ['c-library', ['glibc=2.17']],
    ],
  );
});

test('C library packages the upgrade added are removed with the C library, not before', () => {
  const phases = planRestore(bullseye, [...bookworm, pkg('libc-l10n', '2.36-9', 'glibc')]);
  assert.deepEqual(names(phases.find((p) => p.name === 'c-library')?.remove ?? []), ['libc-l10n=2.36-9']);
  assert.ok(!names(phases[0]?.remove ?? []).includes('libc-l10n=2.36-9'));
});

test('another list of last sources is honoured (a profile naming its own)', () => {
  const phases = planRestore([pkg('musl', '1.1')], [pkg('musl', '1.2')], ['musl']);
  assert.deepEqual(
    phases.map((p) => p.name),
    ['c-library'],
  );
});
