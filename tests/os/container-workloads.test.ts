// A container host: real Podman containers run on this machine beside a Debian 11 root
// (the workload CLIs run on the agent's machine; in production the root is `/`). The
// migration drains them (records and stops them), upgrades the root to Debian 12 and
// brings exactly that set back; a container that cannot run on the new system fails the
// undrain, the migration is rolled back, and then it runs again.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { debianAgent } from '../fixtures/debian-agent.ts';
import { osVersion, standaloneState, type TestRoot, yxAgent } from '../fixtures/os-root.ts';
import { busyboxImage, inspectContainer, removeContainers, runContainer } from '../fixtures/workload-containers.ts';

const debian = debianAgent();
let image: string;
/** Selects this file's containers for the hooks and the clean-up. */
const WORKLOAD_LABEL = 'yixing.workload-test';
const runLabel = randomUUID();

before(async () => {
  image = await busyboxImage();
  debian.cleanup(async () => {
    await removeContainers(`${WORKLOAD_LABEL}=${runLabel}`);
    await removeContainers(`yixing.bystander=${runLabel}`);
  });
});

const root = (): Promise<TestRoot> => debian.root();

/** The site's workload hooks: only this test's containers, short waits. */
async function workloadsFile(r: TestRoot, group: string): Promise<string> {
  const file = path.join(r.dir, 'workloads.yaml');
  await writeFile(
    file,
    [
      'containers:',
      '  runtime: [podman]',
      `  labels: {${WORKLOAD_LABEL}: "${runLabel}", yixing.group: ${group}}`,
      '  stopTimeoutSeconds: 5',
      '  settleSeconds: 3',
      '',
    ].join('\n'),
  );
  return file;
}

const common = (r: TestRoot, workloads: string): string[] => [...debian.args(r), '--workloads', workloads];

const labels = (group: string): Record<string, string> => ({ [WORKLOAD_LABEL]: runLabel, 'yixing.group': group });

type DrainReport = { workloads: { role: string; record: { containers: { id: string; name: string }[] } }[] };

// The two strategies are split over the two heavy tests (each a whole migration and its
// rollback): the operator's rollback reverts a snapshot of the root, the failed migration's
// restores packages. Either way the drain record lives in the agent's state, outside the root.
test('containers running before the migration run again after it, and after a snapshot rollback', async () => {
  const r = await root();
  const ids = [
    await runContainer(image, { name: `web-${runLabel.slice(0, 8)}`, labels: labels('a') }),
    await runContainer(image, { name: `worker-${runLabel.slice(0, 8)}`, labels: labels('a') }),
  ];
  // Running beside them, not selected by the hooks: never touched.
  const bystander = await runContainer(image, { name: `bystander-${runLabel.slice(0, 8)}`, labels: { 'yixing.bystander': runLabel } });
  const bystanderStart = (await inspectContainer(bystander)).startedAt;
  const startedBefore = await Promise.all(ids.map(async (id) => (await inspectContainer(id)).startedAt));
  const workloads = await workloadsFile(r, 'a');

  const migrated = await yxAgent(['migrate', '--rollback', 'snapshot', ...common(r, workloads)]);
  assert.equal(migrated.code, 0, migrated.stdout + migrated.stderr);
  assert.equal(await osVersion(r.root), '12');
  const state = await standaloneState(r.stateDir);
  assert.deepEqual(
    state.steps.map((s) => `${s.step}:${s.status}`),
    ['precheck:succeeded', 'drain:succeeded', 'backup:succeeded', 'upgrade:succeeded', 'undrain:succeeded', 'postcheck:succeeded'],
  );
  const drain = state.steps.find((s) => s.step === 'drain')?.report as DrainReport;
  assert.deepEqual(
    drain.workloads[0]?.record.containers.map((c) => c.id).sort(),
    [...ids].sort(),
    'drain recorded exactly the selected set',
  );
  for (const [i, id] of ids.entries()) {
    const now = await inspectContainer(id);
    assert.equal(now.running, true, `container ${id} runs after the migration`);
    assert.notEqual(now.startedAt, startedBefore[i], 'it was stopped for the upgrade and started after it');
  }
  assert.equal((await inspectContainer(bystander)).startedAt, bystanderStart, 'a container the hooks do not select was not touched');

  const rolledBack = await yxAgent(['rollback', ...common(r, workloads)]);
  assert.equal(rolledBack.code, 0, rolledBack.stdout + rolledBack.stderr);
  assert.equal(await osVersion(r.root), '11');
  const afterRollback = await standaloneState(r.stateDir);
  assert.deepEqual(
    afterRollback.steps.slice(-3).map((s) => `${s.step}:${s.status}`),
    ['drain:succeeded', 'rollback:succeeded', 'undrain:succeeded'],
  );
  for (const id of ids) assert.equal((await inspectContainer(id)).running, true, `container ${id} runs after the rollback`);
});

for (const strategy of ['packages'] as const) {
  test(`a container that does not come back on the new system fails the migration; after the ${strategy} rollback it runs again`, async () => {
    const r = await root();
    const steady = await runContainer(image, { name: `steady-${strategy}-${runLabel.slice(0, 8)}`, labels: labels(`b-${strategy}`) });
    // Reads the root's release through a read-only bind mount and refuses anything but 11.
    const bullseyeOnly = await runContainer(image, {
      name: `bullseye-only-${strategy}-${runLabel.slice(0, 8)}`,
      labels: labels(`b-${strategy}`),
      volumes: [`${path.join(r.root, 'etc')}:/host-etc:ro`],
      before: 'case "$(/bin/busybox cat /host-etc/debian_version)" in 11*) ;; *) echo "not Debian 11"; exit 3;; esac',
    });
    assert.equal((await inspectContainer(bullseyeOnly)).running, true);
    const workloads = await workloadsFile(r, `b-${strategy}`);

    const run = await yxAgent(['migrate', '--rollback', strategy, ...common(r, workloads)]);
    assert.equal(run.code, 4, run.stdout + run.stderr);
    const state = await standaloneState(r.stateDir);
    assert.equal(state.end, 'rolled-back');
    assert.deepEqual(
      state.steps.map((s) => `${s.step}:${s.status}`),
      [
        'precheck:succeeded',
        'drain:succeeded',
        'backup:succeeded',
        'upgrade:succeeded',
        'undrain:failed',
        'rollback:succeeded',
        'undrain:succeeded',
      ],
    );
    const failed = state.steps.find((s) => s.step === 'undrain' && s.status === 'failed') as { code?: string; message?: string };
    assert.equal(failed.code, 'WORKLOADS_NOT_RESTORED');
    assert.match(
      failed.message ?? '',
      new RegExp(`container bullseye-only-${strategy}-${runLabel.slice(0, 8)} .* is exited \\(exit code 3\\)`),
    );
    assert.equal(await osVersion(r.root), '11');
    for (const id of [steady, bullseyeOnly])
      assert.equal((await inspectContainer(id)).running, true, `container ${id} runs after the rollback`);
  });
}

test('a bad workloads file stops the agent naming the file and the field; nothing is run', async () => {
  const r = await root();
  const bad = path.join(r.dir, 'bad-workloads.yaml');
  await writeFile(bad, 'containers:\n  runtime: "podman stop -a"\n');
  const run = await yxAgent(['migrate', ...common(r, bad)]);
  assert.equal(run.code, 2, run.stdout + run.stderr);
  assert.match(run.stderr, /bad-workloads\.yaml: \/containers\/runtime must be array/);
  assert.equal(await osVersion(r.root), '11');
});
