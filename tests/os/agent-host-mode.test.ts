// A real host's agent on the bus (YX_AGENT_MODE=host) migrating a Debian 11 root through
// the control plane: a plan of one host, the apt driver, packages from the loopback
// mirror. The host ends on Debian 12 and its step log (apt's output) is in the API.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { PlanView, RunView } from '../../services/scheduler/src/api/views.ts';
import { freshDebianRoot, osVersion, requiredEnv, type TestRoot } from '../fixtures/os-root.ts';
import { type ServiceProcess, spawnService } from '../fixtures/processes.ts';
import { api, type Stack, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { type StaticServer, serveDirectory } from '../fixtures/static-server.ts';
import { waitUntil } from '../fixtures/wait.ts';

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let agent: ServiceProcess;
let backup: ServiceProcess;
let mirror: StaticServer;
let root: TestRoot;

before(async () => {
  [stack, mirror, root] = await Promise.all([startStack('host_mode'), serveDirectory(requiredEnv('YX_DEBIAN_MIRROR')), freshDebianRoot()]);
  scheduler = await startScheduler(stack);
  backup = await spawnService({
    name: 'backup',
    main: 'services/backup/src/main.ts',
    env: { YX_NATS_URL: stack.nats.url, YX_MONGO_URI: stack.dbUri, YX_API_PORT: '0', YX_BACKUP_KEY: randomBytes(32).toString('base64') },
    ready: /^yx-backup ready /,
    logDir: stack.dir,
  });
  agent = await spawnService({
    name: 'agent-deb11',
    main: 'services/host-agent/src/main.ts',
    env: {
      YX_NATS_URL: stack.nats.url,
      YX_AGENT_MODE: 'host',
      YX_HOST_ID: 'deb11-01',
      YX_ROOT: root.root,
      YX_DRIVER: 'apt',
      YX_LABELS: 'pool=debian,cluster=web,zone=z1,rack=r1,role=app',
      YX_STATE_DIR: root.stateDir,
      YX_MIRRORS: `http://deb.debian.org=${mirror.url}`,
      YX_TRUSTED_MIRRORS: 'true',
      YX_HEARTBEAT_MS: '1000',
    },
    ready: /^yx-agent host ready deb11-01/,
    logDir: stack.dir,
  });
  await waitForHosts(scheduler.api, 1);
});

after(async () => {
  await agent?.kill();
  await backup?.kill();
  await scheduler?.proc.kill();
  await Promise.all([stack?.stop(), mirror?.close(), root?.remove()]);
});

test('a plan migrates a real Debian 11 root to Debian 12 through the bus', async () => {
  const { hosts } = await api<{ hosts: { hostId: string; facts: { osId: string; osVersion: string } }[] }>(
    scheduler.api,
    'GET',
    '/v1/hosts?pool=debian',
  );
  assert.deepEqual(hosts[0]?.facts.osId, 'debian');
  assert.deepEqual(hosts[0]?.facts.osVersion, '11');

  const plan = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', {
    name: 'debian pool to 12',
    selector: { pool: 'debian' },
    profile: 'debian-11-to-12',
    canary: { count: 1 },
    limits: { maxInFlight: 1 },
    errorBudget: { plan: { count: 1 } },
  });
  const done = await waitUntil(
    async () => {
      const p = await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${plan.id}`);
      return { done: p.state === 'completed', value: p, state: `${p.state} ${p.counters.active}` };
    },
    { what: 'the plan to complete' },
  );
  assert.equal(done.counters.succeeded, 1, JSON.stringify(done.counters));
  assert.equal(await osVersion(root.root), '12');

  const { runs } = await api<{ runs: RunView[] }>(scheduler.api, 'GET', '/v1/hosts/deb11-01');
  assert.deepEqual(
    runs[0]?.history.map((h) => `${h.step}:${h.outcome}`),
    ['cluster-check:succeeded', 'precheck:succeeded', 'backup:succeeded', 'upgrade:succeeded', 'reboot:succeeded', 'postcheck:succeeded'],
  );
  const precheck = JSON.parse(runs[0]?.history.find((h) => h.step === 'precheck')?.report ?? '{}') as {
    inhibitors: number;
    summary: string;
  };
  assert.equal(precheck.inhibitors, 0, precheck.summary);
  // The backup went through the backup service, sealed, verified before the upgrade, and
  // its retention clock started when the run ended.
  const backupId = (JSON.parse(runs[0]?.history.find((h) => h.step === 'backup')?.report ?? '{}') as { backup: { id: string } }).backup.id;
  const catalog = stack.db.collection<{ _id: string; state: string; keyId: string | null; verifiedAt: Date; runFinalAt: Date | null }>(
    'backups',
  );
  const stored = await waitUntil(
    async () => {
      const d = await catalog.findOne({ _id: backupId });
      return { done: d?.runFinalAt != null, value: d, state: String(d?.runFinalAt) };
    },
    { what: 'the run end reaching the backup catalog' },
  );
  assert.equal(stored?.state, 'verified');
  assert.ok(stored?.keyId, 'sealed at rest');
  const upgradeStarted = runs[0]?.history.find((h) => h.step === 'upgrade')?.dispatchedAt as unknown as string;
  assert.ok(new Date(stored?.verifiedAt as Date).getTime() <= Date.parse(upgradeStarted), 'verified before the upgrade was sent');

  const { lines } = await api<{ lines: { step: string; text: string }[] }>(scheduler.api, 'GET', '/v1/hosts/deb11-01/logs?step=upgrade');
  assert.ok(
    lines.some((l) => /^Unpacking base-files \(12/.test(l.text)),
    'apt output streamed into the step log',
  );
});
