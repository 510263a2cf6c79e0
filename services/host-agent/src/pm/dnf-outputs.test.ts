import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseDnfTransaction, parseRepoquery, parseRpmRelation, sourceRpmName } from './dnf-outputs.ts';

// Recorded with dnf 4.14 on repositories built with rpmbuild and createrepo_c: a CentOS 7
// style root (old-tool, libfoo, samever, victim, a long-named package) against a target
// where new-tool obsoletes old-tool and a new dependency conflicts with victim.
const recorded = (f: string): string => readFileSync(new URL(`testdata/${f}`, import.meta.url), 'utf8');

test('rpm relations: versioned, bare, and the capabilities that are not package names', () => {
  assert.deepEqual(parseRpmRelation('old-tool < 2.0'), { name: 'old-tool', op: '<', version: '2.0' });
  assert.deepEqual(parseRpmRelation('system-release'), { name: 'system-release' });
  assert.equal(parseRpmRelation('libc.so.6(GLIBC_2.34)(64bit)'), null);
  assert.equal(parseRpmRelation('/usr/bin/python'), null);
  assert.equal(parseRpmRelation('(foo if bar)'), null);
  assert.equal(sourceRpmName('glibc-2.34-60.oe2203.src.rpm'), 'glibc');
  assert.equal(sourceRpmName('(none)'), undefined);
});

test('a real repoquery in the marker format: obsoletes and provides per package', () => {
  const pkgs = parseRepoquery(recorded('dnf-repoquery-target.txt'));
  assert.deepEqual(
    pkgs.find((p) => p.name === 'new-tool'),
    {
      name: 'new-tool',
      arch: 'noarch',
      version: '0:2.0-1.oe2203',
      source: 'new-tool',
      provides: [
        { name: 'new-tool', op: '=', version: '2.0-1.oe2203' },
        { name: 'old-tool', op: '=', version: '2.0' },
      ],
      replaces: [{ name: 'old-tool', op: '<', version: '2.0' }],
    },
  );
  assert.deepEqual(
    pkgs.find((p) => p.name === 'openEuler-release')?.provides.map((r) => r.name),
    ['openEuler-release', 'system-release'],
  );
  assert.deepEqual(
    pkgs.map((p) => p.name),
    [
      'a-very-long-package-name-for-checking-how-dnf-wraps-its-table-lines',
      'conflictor',
      'libfoo',
      'new-tool',
      'openEuler-release',
      'samever',
    ],
  );
});

test('a real distro-sync table: installs, upgrades, reinstalls, dependent removals and what replaces what', () => {
  const plan = parseDnfTransaction(recorded('dnf-distro-sync.txt'));
  assert.deepEqual(plan.installs, [
    { name: 'new-tool', arch: 'noarch', version: '0:2.0-1.oe2203' },
    {
      name: 'a-very-long-package-name-for-checking-how-dnf-wraps-its-table-lines',
      arch: 'noarch',
      version: '0:1.0.0.20240101-1.oe2203.with.a.long.release',
    },
    { name: 'libfoo', arch: 'noarch', version: '0:2.0-1.oe2203' },
    { name: 'samever', arch: 'noarch', version: '0:1.0-1.el7' },
    { name: 'conflictor', arch: 'noarch', version: '0:1.0-1.oe2203' },
  ]);
  assert.deepEqual(plan.removes, [
    { name: 'old-tool', arch: 'noarch' },
    { name: 'victim', arch: 'noarch' },
  ]);
  assert.deepEqual([...(plan.replacedBy ?? [])], [['old-tool', ['new-tool']]]);
});

test('a table whose long names wrap onto a deeper line, and epochs as dnf prints them', () => {
  const plan = parseDnfTransaction(
    [
      'Upgrading:',
      ' python3-a-package-with-a-name-longer-than-the-column',
      '                         x86_64   2:3.9.9-7.oe2203   openeuler-os   8.1 M',
      ' bash                    x86_64   5.1.8-6.oe2203     openeuler-os   1.0 M',
      'Obsoleting:',
      ' python2                 x86_64   2.7.18-1.el7       @System        9 k',
      '',
      'Transaction Summary',
    ].join('\n'),
  );
  assert.deepEqual(plan.installs, [
    { name: 'python3-a-package-with-a-name-longer-than-the-column', arch: 'x86_64', version: '2:3.9.9-7.oe2203' },
    { name: 'bash', arch: 'x86_64', version: '0:5.1.8-6.oe2203' },
  ]);
  assert.deepEqual(plan.removes, [], 'sections it does not know are not read as removals');
});
