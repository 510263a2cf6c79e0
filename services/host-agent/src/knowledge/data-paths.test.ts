import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backupPathList, planBackupScope } from './data-paths.ts';
import type { RuleHit } from './evaluate.ts';
import { parseRule } from './rule.ts';

const MiB = 1024 * 1024;
const at = (bytes: number, mountPoint: string | null = null) => ({ bytes, mountPoint });

const hit = (id: string, dataPaths: string[], opts: { maxBackupMiB?: number; services?: string[]; bad?: string[] } = {}): RuleHit => {
  const rule = parseRule(
    `id: ${id}\ndescription: d\nmatch: [{ service: { name: x } }]\nfinding: { severity: low, title: t, remediation: r }\n` +
      `maxBackupMiB: ${opts.maxBackupMiB ?? 1024}\nservices: ${JSON.stringify(opts.services ?? [])}\n`,
    `${id}.yaml`,
  );
  return { rule, findings: [], dataPaths, badDataPaths: opts.bad ?? [] };
};

test('the archive holds the profile paths and the backed-up data paths, none inside another', () => {
  assert.deepEqual(
    backupPathList(
      ['/etc'],
      [
        { path: '/var/lib/postgresql', backup: true },
        { path: '/var/lib/postgresql/13', backup: true },
        { path: '/etc/postgresql', backup: true },
        { path: '/var/lib/mysql', backup: false },
        { path: '/var/lib/postgresql-extra', backup: true },
      ],
    ),
    ['/etc', '/var/lib/postgresql', '/var/lib/postgresql-extra'],
  );
});

test('a data path within its limit is backed up; a larger one, a missing one or a bad one is not, and that is said', () => {
  const scope = planBackupScope(
    [
      hit('pg', ['/var/lib/postgresql'], { maxBackupMiB: 100, services: ['^postgresql'] }),
      hit('my', ['/var/lib/mysql'], { maxBackupMiB: 100, services: ['^mariadb$'] }),
      hit('gone', ['/srv/none'], { bad: ['/srv/../etc'] }),
      hit('conf', ['/etc/app']),
    ],
    new Map([
      ['/var/lib/postgresql', at(40 * MiB)],
      ['/var/lib/mysql', at(300 * MiB)],
      ['/srv/none', null],
      ['/etc/app', at(10)],
    ]),
    ['/etc'],
    ['cron', 'mariadb', 'postgresql'],
  );
  assert.deepEqual(
    scope.dataPaths.map((d) => [d.path, d.backup, d.bytes, d.reason]),
    [
      ['/var/lib/postgresql', true, 40 * MiB, undefined],
      ['/var/lib/mysql', false, 300 * MiB, '300 MiB, more than the 100 MiB a backup of it may take'],
      ['/srv/none', false, 0, 'it does not exist'],
      ['/etc/app', true, 10, 'inside /etc, backed up with it'],
    ],
  );
  assert.equal(scope.ruleDataLeftOut, true);
  assert.deepEqual(scope.notBackedUp, [
    '/var/lib/mysql (named by my): 300 MiB, more than the 100 MiB a backup of it may take',
    '/srv/../etc (named by gone): not a path below the root',
    // mariadb's rule had nothing backed up: its data is not covered.
    'anything outside /etc, /var/lib/postgresql; that includes whatever data the enabled services no rule knows keep elsewhere (cron, mariadb)',
  ]);
});

test('two rules naming one path: the smaller limit holds, both are named', () => {
  const scope = planBackupScope(
    [hit('a', ['/var/lib/x'], { maxBackupMiB: 500 }), hit('b', ['/var/lib/x'], { maxBackupMiB: 10 })],
    new Map([['/var/lib/x', at(20 * MiB)]]),
    ['/etc'],
    [],
  );
  assert.deepEqual(scope.dataPaths, [
    { path: '/var/lib/x', bytes: 20 * MiB, rule: 'a, b', backup: false, reason: '20 MiB, more than the 10 MiB a backup of it may take' },
  ]);
});

test('a data path with a filesystem mounted on or in it is not backed up: the restore swaps it by renames', () => {
  const scope = planBackupScope(
    [hit('pg', ['/var/lib/postgresql', '/var/lib/mysql'])],
    new Map([
      ['/var/lib/postgresql', at(0, '/var/lib/postgresql')],
      ['/var/lib/mysql', at(100, '/var/lib/mysql/data')],
    ]),
    ['/etc'],
    [],
  );
  assert.deepEqual(
    scope.dataPaths.map((d) => [d.path, d.backup, d.reason]),
    [
      ['/var/lib/postgresql', false, 'a filesystem is mounted on it: back it up with a snapshot of that volume'],
      ['/var/lib/mysql', false, 'a filesystem is mounted at /var/lib/mysql/data: back it up with a snapshot of that volume'],
    ],
  );
  assert.equal(scope.notBackedUp.length, 2);
  assert.equal(scope.ruleDataLeftOut, true);
});

test('nothing to say when the rules named no data and no service is enabled', () => {
  assert.deepEqual(planBackupScope([], new Map(), ['/etc'], []), { dataPaths: [], notBackedUp: [], ruleDataLeftOut: false });
  const onlyServices = planBackupScope([], new Map(), ['/etc'], ['ssh']);
  assert.equal(onlyServices.ruleDataLeftOut, false);
  assert.equal(onlyServices.notBackedUp.length, 1);
});
