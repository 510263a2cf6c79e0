// The dnf driver on a CentOS 7 root built from synthetic RPM repositories (rpmbuild and
// createrepo_c here; file:// mirrors, no network): the release package is swapped and the
// root distro-synced to openEuler 22.03, keeping a local configuration edit; the rollback
// returns exactly the recorded package set and /etc. Planted problems inhibit.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { runCommand, treeDigest } from '@yixing/host-agent/internal';
import { repoRoot } from '../../infra/dev/paths.ts';
import { osVersion, standaloneState, yxAgent } from '../fixtures/os-root.ts';
import { startOtlpReceiver } from '../fixtures/otlp-receiver.ts';
import { rpmQuery, rpmTestBed } from '../fixtures/rpm-repos.ts';

const { root } = rpmTestBed();

const rpmSet = (r: string): Promise<string[]> => rpmQuery(r, '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}');

test('CentOS 7 is migrated to openEuler 22.03 by release swap and distro-sync, then rolled back exactly', async () => {
  const r = await root();
  const before = await rpmSet(r.root);
  const etcBefore = await treeDigest(path.join(r.root, 'etc'));
  assert.deepEqual(before, [
    'app-base-0:1.0-1.el7.noarch',
    'centos-release-0:7-9.2009.1.el7.centos.noarch',
    'legacy-tool-0:1.0-3.el7.noarch',
    'libfoo-0:1.0-1.el7.noarch',
  ]);

  // The agent exports its spans (OTEL_* inherited): real dnf's phases among them.
  const otlp = await startOtlpReceiver();
  Object.assign(process.env, otlp.env);
  let migrated: Awaited<ReturnType<typeof yxAgent>>;
  try {
    migrated = await yxAgent(['migrate', '--rollback', 'packages', ...r.args]);
  } finally {
    for (const k of Object.keys(otlp.env)) delete process.env[k];
    await otlp.close();
  }
  assert.equal(migrated.code, 0, migrated.stdout + migrated.stderr);
  const pm = (command: string, name: string) =>
    otlp.spans.find((s) => s.name === name && s.attributes['yx.pm.command'] === command)?.attributes['yx.pm.packages'];
  const seen = otlp.spans.map((s) => `${s.name} ${s.attributes['yx.pm.command']}`).join(', ');
  assert.equal(pm('install', 'pm transaction'), '1', `the release package's transaction: ${seen}`);
  assert.equal(pm('distro-sync', 'pm transaction'), '3', 'app-base and libfoo upgraded, newdep installed');
  assert.equal(pm('distro-sync', 'pm download'), '0', 'file:// repositories: nothing fetched');
  assert.equal(await osVersion(r.root), '22.03');
  assert.deepEqual(await rpmSet(r.root), [
    'app-base-0:1.1-1.oe2203.noarch',
    'legacy-tool-0:1.0-3.el7.noarch',
    'libfoo-0:2.0-1.oe2203.noarch',
    'newdep-0:1.0-1.oe2203.noarch',
    'openEuler-release-0:22.03LTS-52.oe2203.noarch',
  ]);
  assert.equal(
    await readFile(path.join(r.root, 'etc/app/app.conf'), 'utf8'),
    'workers = 16 # tuned by ops\n',
    'the local edit survives the upgrade',
  );
  const state = await standaloneState(r.stateDir);
  const precheck = state.steps.find((s) => s.step === 'precheck')?.report as { findings: { id: string; detail: string }[] };
  assert.match(precheck.findings.find((f) => f.id === 'packages-not-in-target')?.detail ?? '', /legacy-tool/);
  const upgrade = state.steps.find((s) => s.step === 'upgrade')?.report as { transaction: string };
  assert.match(upgrade.transaction, /Transaction ID/, 'the dnf transaction is recorded');

  const rolledBack = await yxAgent(['rollback', ...r.args]);
  assert.equal(rolledBack.code, 0, rolledBack.stdout + rolledBack.stderr);
  const rollbackReport = (await standaloneState(r.stateDir)).steps.find((s) => s.step === 'rollback')?.report as {
    rollback: { strategy: string };
  };
  assert.equal(rollbackReport.rollback.strategy, 'packages', 'the package set was restored, not a copy swapped back');
  assert.equal(await osVersion(r.root), '7');
  assert.deepEqual(await rpmSet(r.root), before, 'the exact pre-migration package set');
  assert.equal(await treeDigest(path.join(r.root, 'etc')), etcBefore, '/etc as backed up');
});

test('a version-locked package and a foreign repository inhibit a dnf migration, which changes nothing', async () => {
  const r = await root();
  await runCommand(['mkdir', '-p', path.join(r.root, 'etc/dnf/plugins')]);
  await writeFile(path.join(r.root, 'etc/dnf/plugins/versionlock.list'), 'libfoo-0:1.0-1.el7.*\n');
  await writeFile(path.join(r.root, 'etc/yum.repos.d/vendor.repo'), '[vendor]\nname=vendor\nbaseurl=https://rpm.vendor.invalid/el7/\n');
  // SQLite's shared-memory index of the rpm database is rewritten by every reader.
  const ignoreShm = (p: string): boolean => p.endsWith('.sqlite-shm');
  const digest = await treeDigest(r.root, ignoreShm);
  const run = await yxAgent(['migrate', ...r.args]);
  assert.equal(run.code, 3, run.stdout + run.stderr);
  const state = await standaloneState(r.stateDir);
  const report = state.steps[0]?.report as { findings: { id: string; inhibitor: boolean }[] };
  const inhibitors = report.findings.filter((f) => f.inhibitor).map((f) => f.id);
  assert.deepEqual(inhibitors.sort(), ['foreign-repositories', 'held-packages']);
  assert.deepEqual(
    state.steps.map((s) => s.step),
    ['precheck'],
    'nothing ran after the inhibited precheck',
  );
  assert.equal(await treeDigest(r.root, ignoreShm), digest, 'the root is unchanged');
});

test('a standalone rollback remembers its run: no --profile, --profiles-dir or --mirror needed again', async () => {
  const r = await root();
  const before = await rpmSet(r.root);
  // A site's own profile, offered only through --profiles-dir.
  const siteDir = path.join(path.dirname(r.root), 'site-profiles');
  await mkdir(siteDir);
  const shipped = await readFile(path.join(repoRoot, 'services/host-agent/profiles/centos-7-to-openeuler-22.03.yaml'), 'utf8');
  await writeFile(
    path.join(siteDir, 'site-centos-7-to-openeuler.yaml'),
    shipped.replace(/^name: .*$/m, 'name: site-centos-7-to-openeuler'),
  );
  const args = r.args.map((a) => (a === 'centos-7-to-openeuler-22.03' ? 'site-centos-7-to-openeuler' : a));
  const migrated = await yxAgent(['migrate', '--rollback', 'packages', ...args, '--profiles-dir', siteDir]);
  assert.equal(migrated.code, 0, migrated.stdout + migrated.stderr);
  assert.equal(await osVersion(r.root), '22.03');

  const rolledBack = await yxAgent(['rollback', '--root', r.root, '--state-dir', r.stateDir, '--trusted-mirrors']);
  assert.equal(rolledBack.code, 0, rolledBack.stdout + rolledBack.stderr);
  assert.equal(await osVersion(r.root), '7');
  assert.deepEqual(await rpmSet(r.root), before);
});
