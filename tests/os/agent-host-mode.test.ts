// A real host's agent on the bus (YX_AGENT_MODE=host) migrating a Debian 11 root through
// the control plane: a plan of one host, the apt driver, packages from the loopback
// mirror. The host ends on Debian 12 and its step log (apt's output) is in the API. A
// second host whose site profile's post-check fails is rolled back from the backup
// service's sealed copy to exactly what it was.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BUILTIN_PROFILES_DIR, treeDigest } from '@yixing/host-agent/internal';
import type { PlanView, RunView } from '@yixing/scheduler/internal';
import { bearer } from '../fixtures/api-access.ts';
import { freshDebianRoot, osVersion, requiredEnv, type TestRoot } from '../fixtures/os-root.ts';
import { type ServiceProcess, spawnService } from '../fixtures/processes.ts';
import { api, type Stack, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { type StaticServer, serveDirectory } from '../fixtures/static-server.ts';
import { waitUntil } from '../fixtures/wait.ts';
import { yxAgentCommand } from '../fixtures/yx-agent.ts';

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let agent: ServiceProcess;
let backup: ServiceProcess;
let backupApi: string;
let mirror: StaticServer;
let root: TestRoot;

before(async () => {
  [stack, mirror, root] = await Promise.all([startStack('host_mode'), serveDirectory(requiredEnv('YX_DEBIAN_MIRROR')), freshDebianRoot()]);
  scheduler = await startScheduler(stack);
  backup = await spawnService({
    name: 'backup',
    main: 'services/backup/src/main.ts',
    env: {
      ...stack.busEnv('backup'),
      YX_MONGO_URI: stack.dbUri,
      YX_API_PORT: '0',
      YX_API_TOKENS_FILE: stack.apiTokensFile,
      YX_BACKUP_KEY: randomBytes(32).toString('base64'),
    },
    ready: /^yx-backup ready (\S+)/,
    logDir: stack.dir,
    onReady: (m) => {
      backupApi = m[1] as string;
    },
  });
  agent = await hostAgent('deb11-01', root, 'pool=debian,cluster=web,zone=z1,rack=r1,role=app');
  await waitForHosts(scheduler.api, 1);
});

/**
 * The host's last log line, part of what a wait watches: it moves while apt and dpkg
 * work, so an upgrade slower than the stall limit on a loaded machine is not a stall.
 * '' before the host has a run (the API answers 404).
 */
async function lastLogLine(hostId: string): Promise<string> {
  const res = await fetch(new URL(`/v1/hosts/${hostId}/logs?tail=1`, scheduler.api), { headers: bearer('viewer') });
  if (res.status === 404) return '';
  const { lines } = (await res.json()) as { lines?: { text: string }[] };
  return lines?.at(-1)?.text ?? '';
}

/** A host-mode agent for a Debian root, its packages from the loopback mirror. */
async function hostAgent(hostId: string, r: TestRoot, labels: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
  return spawnService({
    name: `agent-${hostId}`,
    command: await yxAgentCommand(),
    env: {
      ...(await stack.agentBusEnv(hostId)),
      YX_AGENT_MODE: 'host',
      YX_HOST_ID: hostId,
      YX_ROOT: r.root,
      YX_DRIVER: 'apt',
      YX_LABELS: labels,
      YX_STATE_DIR: r.stateDir,
      YX_MIRRORS: `http://deb.debian.org=${mirror.url}`,
      YX_TRUSTED_MIRRORS: 'true',
      YX_HEARTBEAT_MS: '1000',
      ...env,
    },
    ready: new RegExp(`^yx-agent host ready ${hostId}`),
    logDir: stack.dir,
  });
}

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
      return { done: p.state === 'completed', value: p, state: `${p.state} ${p.counters.active} ${await lastLogLine('deb11-01')}` };
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

test('a failed post-check rolls the host back from the backup service to exactly what it was', async () => {
  const r = await freshDebianRoot();
  let agent2: ServiceProcess | undefined;
  try {
    // A site profile: the shipped one plus a post-check this host cannot pass.
    const profiles = path.join(r.dir, 'profiles');
    await mkdir(profiles);
    const shipped = await readFile(path.join(BUILTIN_PROFILES_DIR, 'debian-11-to-12.yaml'), 'utf8');
    await writeFile(
      path.join(profiles, 'debian-11-to-12-site.yaml'),
      shipped
        .replace(/^name: debian-11-to-12$/m, 'name: debian-11-to-12-site')
        .replace(/^checks:\n/m, 'checks:\n  - { id: app-ready, kind: file-exists, path: /etc/app-ready }\n'),
    );
    const etcBefore = await treeDigest(path.join(r.root, 'etc'));
    agent2 = await hostAgent('deb11-02', r, 'pool=debian-site,cluster=db,zone=z1,rack=r2,role=db', { YX_PROFILES_DIR: profiles });
    await waitForHosts(scheduler.api, 2);
    const plan = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', {
      name: 'site profile',
      selector: { pool: 'debian-site' },
      profile: 'debian-11-to-12-site',
      canary: { count: 1 },
      limits: { maxInFlight: 1 },
      errorBudget: { plan: { count: 1 } },
      onFailure: 'rollback',
    });
    const run = await waitUntil(
      async () => {
        const { hosts } = await api<{ hosts: RunView[] }>(scheduler.api, 'GET', `/v1/plans/${plan.id}/hosts`);
        const h = hosts[0] as RunView;
        return {
          done: h.state === 'failed' && h.rollback !== 'running',
          value: h,
          state: `${h.state} ${h.step} ${h.rollback} ${await lastLogLine('deb11-02')}`,
        };
      },
      { what: 'the host to fail its post-check and be rolled back' },
    );
    assert.equal(run.failure?.code, 'POSTCHECK_FAILED');
    assert.match(run.failure?.message ?? '', /check app-ready: \/etc\/app-ready does not exist/);
    assert.equal(run.rollback, 'succeeded');
    const steps = run.history.map((h) => `${h.step}:${h.outcome}`);
    assert.deepEqual(steps.slice(-2), ['postcheck:failed', 'rollback:succeeded'], steps.join(' '));
    assert.equal(await osVersion(r.root), '11');
    assert.equal(await treeDigest(path.join(r.root, 'etc')), etcBefore, '/etc is what the backup held');
    // The rollback's backup came from the service: restored once, from a sealed copy.
    const metrics = await (await fetch(new URL('/metrics', backupApi), { headers: bearer('viewer') })).text();
    assert.match(metrics, /^yx_backup_restore_seconds_count\{[^}]*\} 1$/m);
  } finally {
    await agent2?.kill();
    await r.remove();
  }
});
