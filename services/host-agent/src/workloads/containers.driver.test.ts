import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CommandResult } from '../os/command.ts';
import { type ContainerState, containersDriver, parseInspect, psArgs, settleProblems } from './containers.driver.ts';
import { parseWorkloadHooks } from './workload-config.ts';
import type { WorkloadEnv } from './workload-driver.ts';

test('inspect output of Podman and of Docker reads the same', () => {
  const podman = JSON.stringify([
    {
      Id: 'aaa',
      Name: 'web',
      ImageName: 'localhost/web:1',
      Config: { Image: 'localhost/web:1' },
      State: { Running: true, Status: 'running', ExitCode: 0, StartedAt: 't1' },
      RestartCount: 0,
    },
  ]);
  const docker = JSON.stringify([
    {
      Id: 'bbb',
      Name: '/db',
      Image: 'sha256:1',
      Config: { Image: 'postgres:15' },
      State: { Running: true, Restarting: true, Status: 'restarting', ExitCode: 1, StartedAt: 't2' },
      RestartCount: 3,
    },
  ]);
  assert.deepEqual(parseInspect(podman)[0], {
    id: 'aaa',
    name: 'web',
    image: 'localhost/web:1',
    running: true,
    status: 'running',
    exitCode: 0,
    startedAt: 't1',
    restartCount: 0,
  });
  const db = parseInspect(docker)[0];
  assert.equal(db?.name, 'db');
  assert.equal(db?.image, 'postgres:15');
  assert.equal(db?.running, false, 'a restarting container is not running');
});

test('only running containers with the hook’s labels are listed', () => {
  const hook = parseWorkloadHooks('containers: {labels: {app: shop}}', 's').containers;
  assert.deepEqual(psArgs(hook as NonNullable<typeof hook>), [
    'ps',
    '-q',
    '--no-trunc',
    '--filter',
    'status=running',
    '--filter',
    'label=app=shop',
  ]);
});

test('a restarted container counts as back only if it stays up, without restarting', () => {
  const s = (id: string, over: Partial<ContainerState> = {}): ContainerState => ({
    id,
    name: id,
    image: 'img',
    running: true,
    status: 'running',
    exitCode: 0,
    startedAt: 't0',
    restartCount: 0,
    ...over,
  });
  const refs = ['ok', 'exited', 'looping', 'gone'].map((id) => ({ id, name: `n-${id}`, image: 'img' }));
  const started = new Map(['ok', 'exited', 'looping', 'gone'].map((id) => [id, s(id)]));
  const settled = new Map([
    ['ok', s('ok')],
    ['exited', s('exited', { running: false, status: 'exited', exitCode: 3 })],
    ['looping', s('looping', { restartCount: 2, startedAt: 't9' })],
  ]);
  const p = settleProblems(refs, started, settled);
  assert.deepEqual([...p.keys()], ['exited', 'looping', 'gone']);
  assert.match(p.get('exited') ?? '', /container n-exited .* is exited \(exit code 3\) after its restart/);
  assert.match(p.get('looping') ?? '', /keeps restarting \(2 restarts/);
  assert.match(p.get('gone') ?? '', /no longer exists/);
});

/** A container runtime's CLI in memory: ps, inspect, stop, start. */
class FakeRuntime {
  readonly calls: string[] = [];
  readonly c = new Map<string, { name: string; running: boolean; startedAt: number; label: string; failsAfterStart?: boolean }>();
  #clock = 0;

  async run(argv: string[]): Promise<CommandResult> {
    const [, verb, ...rest] = argv;
    this.calls.push(argv.slice(1).join(' '));
    const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });
    if (verb === 'ps') {
      const label = rest.find((a) => a.startsWith('label='))?.slice('label='.length);
      return ok(
        [...this.c]
          .filter(([, v]) => v.running && (!label || v.label === label))
          .map(([id]) => `${id}\n`)
          .join(''),
      );
    }
    const ids = rest.filter((a) => this.c.has(a));
    if (verb === 'inspect') {
      if (ids.length === 0) return { code: 125, stdout: '[]', stderr: 'no such container' };
      const out = ids.map((id) => {
        const v = this.c.get(id) as NonNullable<ReturnType<typeof this.c.get>>;
        return {
          Id: id,
          Name: v.name,
          Config: { Image: `img-${v.name}` },
          State: {
            Running: v.running,
            Status: v.running ? 'running' : 'exited',
            ExitCode: v.running ? 0 : 2,
            StartedAt: String(v.startedAt),
          },
          RestartCount: 0,
        };
      });
      return ok(JSON.stringify(out));
    }
    for (const id of ids) {
      const v = this.c.get(id) as NonNullable<ReturnType<typeof this.c.get>>;
      if (verb === 'stop') v.running = false;
      if (verb === 'start' && !v.running) {
        v.running = true;
        v.startedAt = ++this.#clock;
      }
    }
    return ids.length > 0 ? ok() : { code: 125, stdout: '', stderr: 'no such container' };
  }

  /** The containers meant to fail exit during the settle period. */
  settle(): void {
    for (const v of this.c.values()) if (v.failsAfterStart) v.running = false;
  }
}

function env(rt: FakeRuntime): WorkloadEnv {
  return { port: rt, hostname: 'h1', log: () => undefined, signal: new AbortController().signal, sleep: async () => rt.settle() };
}

test('drain stops exactly the selected running set; undrain starts that set and nothing else', async () => {
  const rt = new FakeRuntime();
  rt.c.set('a1', { name: 'web', running: true, startedAt: 0, label: 'app=shop' });
  rt.c.set('b2', { name: 'db', running: true, startedAt: 0, label: 'app=shop' });
  rt.c.set('c3', { name: 'stopped-before', running: false, startedAt: 0, label: 'app=shop' });
  rt.c.set('d4', { name: 'other-app', running: true, startedAt: 0, label: 'app=other' });
  const hook = parseWorkloadHooks('containers: {labels: {app: shop}, stopTimeoutSeconds: 7}', 's').containers as NonNullable<
    ReturnType<typeof parseWorkloadHooks>['containers']
  >;
  const saved: unknown[] = [];
  const rec = await containersDriver.drain(env(rt), hook, async (r) => void saved.push(structuredClone(r)), undefined);
  assert.deepEqual(
    rec.containers.map((c) => c.name),
    ['web', 'db'],
  );
  assert.deepEqual(saved[0], rec, 'the record was saved before anything stopped');
  assert.ok(rt.calls.includes('stop -t 7 a1') && rt.calls.includes('stop -t 7 b2'));
  assert.equal(rt.c.get('d4')?.running, true, 'a container the hook does not select keeps running');

  // A repeated drain (an agent restarted mid-way) reuses the record: the stopped set is not recorded as empty.
  const again = await containersDriver.drain(env(rt), hook, async () => assert.fail('no new record'), rec);
  assert.deepEqual(again, rec);

  const back = await containersDriver.undrain(env(rt), hook, rec);
  assert.deepEqual(back, { restored: ['web', 'db'], problems: [] });
  assert.equal(rt.c.get('c3')?.running, false, 'a container stopped before the drain stays stopped');
  assert.deepEqual(await containersDriver.check(env(rt), hook, rec), []);
  assert.deepEqual(await containersDriver.undrain(env(rt), hook, rec), { restored: ['web', 'db'], problems: [] }, 'undrain is idempotent');
});

test('a container that exits after its restart fails undrain, named', async () => {
  const rt = new FakeRuntime();
  rt.c.set('a1', { name: 'web', running: true, startedAt: 0, label: '' });
  rt.c.set('b2', { name: 'needs-old-os', running: true, startedAt: 0, label: '' });
  const hook = parseWorkloadHooks('containers: {}', 's').containers as NonNullable<ReturnType<typeof parseWorkloadHooks>['containers']>;
  const rec = await containersDriver.drain(env(rt), hook, async () => undefined, undefined);
  (rt.c.get('b2') as { failsAfterStart?: boolean }).failsAfterStart = true;
  const back = await containersDriver.undrain(env(rt), hook, rec);
  assert.deepEqual(back.restored, ['web']);
  assert.equal(back.problems.length, 1);
  assert.match(back.problems[0] ?? '', /container needs-old-os \(b2, img-needs-old-os\) is exited/);
  assert.deepEqual(await containersDriver.check(env(rt), hook, rec), ['container needs-old-os (b2, img-needs-old-os) is exited']);
  rt.c.delete('a1');
  assert.match(
    (await containersDriver.undrain(env(rt), hook, rec)).problems.join(';'),
    /container web \(a1\) did not start: no such container/,
  );
});
