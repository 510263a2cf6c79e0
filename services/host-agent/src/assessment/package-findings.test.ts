import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PackageChange, UpgradePreview } from '../pm/package-manager.ts';
import { packageFindings } from './package-findings.ts';

const preview = (changes: PackageChange[], sourceError = ''): UpgradePreview => ({
  reachable: true,
  error: '',
  sourceError,
  downloadBytes: 0,
  installBytes: 0,
  upgrades: 0,
  installs: 0,
  removals: changes.filter((c) => c.fate === 'removed' || c.fate === 'replaced').map((c) => c.name),
  changes,
});

test('only orphaned, foreign and truly removed packages are findings', () => {
  const findings = packageFindings(
    preview([
      { name: 'bsdutils', arch: 'amd64', from: '2.36.1-8', to: '2.38.1-5', fate: 'upgraded' },
      { name: 'libnsl2', arch: 'amd64', from: '1.3.0-2', fate: 'unchanged' },
      { name: 'libsemanage1', arch: 'amd64', from: '3.1-1+b2', fate: 'replaced', by: 'libsemanage2' },
      { name: 'centos-release', arch: 'noarch', from: '0:7-9', fate: 'replaced', by: 'openEuler-release' },
      { name: 'libsemanage2', arch: 'amd64', to: '3.4-1+b5', fate: 'new' },
      { name: 'postgresql-13', arch: 'amd64', from: '13.16-0+deb11u1', fate: 'orphaned' },
      { name: 'libssl1.1', arch: 'amd64', from: '1.1.1w-0+deb11u1', fate: 'orphaned' },
      { name: 'acme-agent', arch: 'amd64', from: '4.2-1', fate: 'foreign' },
      { name: 'gzip', arch: 'amd64', from: '1.10-4+local1', to: '1.12-1', fate: 'foreign' },
      { name: 'victim', arch: 'noarch', from: '0:1.0-1.el7', fate: 'removed' },
    ]),
  );
  assert.deepEqual(
    findings.map((f) => [f.id, f.inhibitor, f.detail]),
    [
      ['packages-not-in-target', false, 'libssl1.1 1.1.1w-0+deb11u1\npostgresql-13 13.16-0+deb11u1'],
      [
        'packages-foreign',
        false,
        "acme-agent 4.2-1\ngzip 1.10-4+local1 (the upgrade replaces it with the target's 1.12-1; a package rollback cannot reinstall 1.10-4+local1)",
      ],
      ['packages-removed', false, 'victim 0:1.0-1.el7'],
    ],
  );
  assert.match(findings[0]?.title ?? '', /^2 installed packages have no candidate/);
});

test('nothing to report on a clean upgrade; unreadable source repositories are said', () => {
  const clean = preview([{ name: 'dash', arch: 'amd64', from: '0.5.11', to: '0.5.12', fate: 'upgraded' }]);
  assert.deepEqual(packageFindings(clean), []);
  assert.deepEqual(
    packageFindings({ ...clean, sourceError: 'E: Failed to fetch http://deb.debian.org/debian/dists/bullseye/InRelease' }).map((f) => f.id),
    ['source-repositories-unreachable'],
  );
});
