import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { stepContext } from '../drivers/step-context.testing.ts';
import type { CommandResult } from '../os/command.ts';
import { HostRoot } from '../os/host-root.ts';
import { parseWorkloadHooks } from './workload-config.ts';
import { DRAIN_RECORDS_KEY, type DrainRecords, drainStep, undrainStep, workloadProblems } from './workload-steps.ts';

/** Two containers; `broken` ones exit when started; `failStop` makes stop fail. */
function runtime() {
  const running = new Map([
    ['id-web', true],
    ['id-db', true],
  ]);
  const o = {
    broken: new Set<string>(),
    failStop: false,
    port: {
      run: async (argv: string[]): Promise<CommandResult> => {
        const [, verb, ...rest] = argv;
        const ok = (stdout = '') => ({ code: 0, stdout, stderr: '' });
        if (verb === 'ps')
          return ok(
            [...running]
              .filter(([, r]) => r)
              .map(([id]) => `${id}\n`)
              .join(''),
          );
        if (verb === 'inspect')
          return ok(
            JSON.stringify(
              rest.map((id) => ({
                Id: id,
                Name: id.slice(3),
                Config: { Image: 'img' },
                State: { Running: running.get(id), Status: running.get(id) ? 'running' : 'exited' },
              })),
            ),
          );
        const id = rest.at(-1) as string;
        if (verb === 'stop') {
          if (o.failStop && id === 'id-db') return { code: 125, stdout: '', stderr: 'stop timed out' };
          running.set(id, false);
        }
        if (verb === 'start') running.set(id, !o.broken.has(id));
        return ok();
      },
    },
    running,
  };
  return o;
}

const site = parseWorkloadHooks('containers: {settleSeconds: 1}', 'site.yaml');
const ctx = (step: 'drain' | 'undrain' | 'postcheck', runData: Map<string, unknown>) =>
  stepContext({ hostId: 'h1', runId: 'r1', step, profile: 'p' }, runData);

async function withRoot(fn: (root: HostRoot) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-wl-'));
  try {
    await fn(new HostRoot(dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('drain keeps its record in the run data; undrain after a rollback puts back exactly that', async () => {
  await withRoot(async (root) => {
    const rt = runtime();
    const deps = { site, port: rt.port, sleep: async () => undefined };
    const runData = new Map<string, unknown>();
    const drained = await drainStep(ctx('drain', runData), root, undefined, deps);
    assert.equal(drained.ok, true);
    assert.deepEqual(drained.report, {
      roles: [],
      workloads: [
        {
          role: 'containers',
          hook: site.containers,
          record: {
            runtime: ['podman'],
            containers: [
              { id: 'id-web', name: 'web', image: 'img' },
              { id: 'id-db', name: 'db', image: 'img' },
            ],
          },
        },
      ],
    });
    assert.deepEqual([...rt.running.values()], [false, false]);
    // The new system breaks db: undrain fails naming it, the post-check too.
    rt.broken.add('id-db');
    const first = await undrainStep(ctx('undrain', runData), deps);
    assert.equal(first.ok, false);
    assert.equal(!first.ok && first.code, 'WORKLOADS_NOT_RESTORED');
    assert.match(!first.ok ? first.message : '', /container db \(id-db, img\) is exited/);
    assert.deepEqual(await workloadProblems(ctx('postcheck', runData), deps), ['container db (id-db, img) is exited']);
    // The rollback reverted the root, not the run data: the second undrain brings db back.
    rt.broken.clear();
    const second = await undrainStep(ctx('undrain', runData), deps);
    assert.deepEqual(second, { ok: true, report: { workloads: [{ role: 'containers', restored: ['web', 'db'], problems: [] }] } });
    assert.deepEqual(await workloadProblems(ctx('postcheck', runData), deps), []);
  });
});

test('a drain that fails half-way keeps what it recorded, and the undrain brings that back', async () => {
  await withRoot(async (root) => {
    const rt = runtime();
    rt.failStop = true;
    const deps = { site, port: rt.port, sleep: async () => undefined };
    const runData = new Map<string, unknown>();
    const drained = await drainStep(ctx('drain', runData), root, undefined, deps);
    assert.equal(!drained.ok && drained.code, 'WORKLOAD_DRAIN_FAILED');
    assert.match(!drained.ok ? drained.message : '', /drain of containers failed: podman stop -t 30 id-db exited with 125: stop timed out/);
    assert.equal((runData.get(DRAIN_RECORDS_KEY) as DrainRecords).containers?.role, 'containers');
    assert.equal(rt.running.get('id-web'), false);
    const back = await undrainStep(ctx('undrain', runData), deps);
    assert.equal(back.ok, true);
    assert.deepEqual([...rt.running.values()], [true, true]);
  });
});

test('no hooks: drain and undrain change nothing and say so', async () => {
  await withRoot(async (root) => {
    const rt = runtime();
    const runData = new Map<string, unknown>();
    const deps = { port: rt.port, sleep: async () => undefined };
    assert.deepEqual(await drainStep(ctx('drain', runData), root, undefined, deps), { ok: true, report: { roles: [], workloads: [] } });
    assert.deepEqual(await undrainStep(ctx('undrain', runData), deps), { ok: true, report: { workloads: [] } });
    assert.deepEqual([...rt.running.values()], [true, true]);
    // A profile's hooks apply only to roles found on the host (this root has none).
    const profile = parseWorkloadHooks('containers: {}', 'p');
    assert.deepEqual(await drainStep(ctx('drain', runData), root, profile, deps), { ok: true, report: { roles: [], workloads: [] } });
  });
});
