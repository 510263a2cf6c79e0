// Agent versions across a fleet (issue 13): an agent's version reported at registration is
// in the inventory and `yx hosts list`; a plan with minAgentVersion migrates the hosts
// whose agent is new enough and excludes the others at creation with the reason, outside
// its canary, waves and error budget. On real NATS and the MongoDB-compatible store: the
// new agent is a simulated one (it reports this checkout's version, AGENT_VERSION), the
// old and the silent one are protocol peers that only register and heartbeat.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Bus, createRegistry, silentLogger } from '@yixing/common';
import { AGENT_VERSION } from '@yixing/host-agent';
import type { Scheduler } from '@yixing/scheduler';
import semver from 'semver';
import { runYx } from '../fixtures/cli-io.ts';
import { type InProcessStack, startInProcess } from '../fixtures/in-process.ts';
import { registerPeer } from '../fixtures/protocol-peer.ts';
import { waitUntil } from '../fixtures/wait.ts';

const OLD = '0.0.9';
const NEW_HOST = 'av-0';
const OLD_HOST = 'av-old';
const SILENT_HOST = 'av-silent';

let stack: InProcessStack;
let scheduler: Scheduler;
const timers: NodeJS.Timeout[] = [];

before(async () => {
  assert.ok(semver.lt(OLD, AGENT_VERSION), `the old peer's ${OLD} must be older than this agent's ${AGENT_VERSION}`);
  stack = await startInProcess('plan_agent_version');
  scheduler = stack.scheduler;
  await stack.addFleet({ pool: 'av', prefix: 'av', size: 1, clusters: 1 });
  const bus = new Bus({ nc: stack.nc, log: silentLogger(), registry: createRegistry('peers', { processMetrics: false }) });
  timers.push(await registerPeer(bus, OLD_HOST, 'av', { agentVersion: OLD }));
  timers.push(await registerPeer(bus, SILENT_HOST, 'av'));
  await waitUntil(
    async () => {
      const n = scheduler.inventory.select({ pool: 'av' }).length;
      return { done: n === 3, value: n, state: String(n) };
    },
    { what: '3 hosts of pool av registered' },
  );
});

after(async () => {
  for (const t of timers) clearInterval(t);
  await stack?.stop();
});

const plan = (extra: object) => ({
  name: 'agent versions',
  selector: { pool: 'av' },
  profile: 'debian-11-to-12',
  canary: { count: 1 },
  limits: { maxInFlight: 3 },
  errorBudget: { plan: { count: 1 } },
  clusterCheck: { minHealthyPercent: 0 },
  ...extra,
});

async function stored(): Promise<string> {
  const { Plan, RunState, Audit } = scheduler.models;
  const [plans, runs, audit] = await Promise.all([Plan.countDocuments(), RunState.countDocuments(), Audit.countDocuments()]);
  return JSON.stringify({ plans, runs, audit, live: scheduler.engine.plans.size });
}

test('the inventory and yx hosts list show the version each agent reported', async () => {
  const res = await stack.inject({ method: 'GET', url: '/v1/hosts?pool=av' });
  assert.equal(res.statusCode, 200, res.body);
  const hosts = (res.json() as { hosts: { hostId: string; agentVersion: string }[] }).hosts;
  assert.deepEqual(Object.fromEntries(hosts.map((h) => [h.hostId, h.agentVersion])), {
    [NEW_HOST]: AGENT_VERSION,
    [OLD_HOST]: OLD,
    [SILENT_HOST]: '',
  });
  const listed = await runYx(stack.apiUrl, ['hosts', 'list', '--pool', 'av']);
  assert.equal(listed.code, 0, listed.stderr);
  const lines = listed.stdout.split('\n');
  assert.match(lines[0] ?? '', /^HOST +OS +AGENT +POOL /);
  const agentColumn = (lines[0] ?? '').indexOf('AGENT');
  const agentOf = (host: string) =>
    lines
      .find((l) => l.startsWith(`${host} `))
      ?.slice(agentColumn)
      .split(/ +/)[0];
  assert.deepEqual([agentOf(NEW_HOST), agentOf(OLD_HOST), agentOf(SILENT_HOST)], [AGENT_VERSION, OLD, '-']);
});

test('a minAgentVersion that is not a semantic version, or refuses every host, is a 400 naming it; nothing changes', async () => {
  const before = await stored();
  const cases: [unknown, RegExp][] = [
    ['0.2', /minAgentVersion: "0\.2" is not a semantic version/],
    ['>=0.1.0', /is not a semantic version/],
    ['99.0.0', /minAgentVersion: refuses all 3 selected hosts \(.+\); upgrade their agents first$/],
    ['', /minAgentVersion: must NOT have fewer than 1 characters/],
  ];
  for (const [minAgentVersion, message] of cases) {
    const res = await stack.inject({ method: 'POST', url: '/v1/plans', payload: plan({ minAgentVersion }) });
    assert.equal(res.statusCode, 400, res.body);
    const { error } = res.json() as { error: { field?: string; message: string } };
    assert.equal(error.field, 'body.minAgentVersion', res.body);
    assert.match(error.message, message);
  }
  assert.equal(await stored(), before, 'a refused plan changed something');
});

test('a plan with minAgentVersion migrates the new agent and excludes the old and the unknown with the reason', async () => {
  // Created as an operator does, from a plan file; the exclusions are named at once.
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-av-'));
  const file = path.join(dir, 'plan.json');
  await writeFile(file, JSON.stringify(plan({ minAgentVersion: AGENT_VERSION })));
  const create = await runYx(stack.apiUrl, ['plan', 'create', '-f', file]);
  await rm(dir, { recursive: true });
  assert.equal(create.code, 0, create.stderr);
  const id = /^created plan (\S+) \(3 hosts, running\); 2 excluded: yx plan hosts (\S+) --state excluded\n$/.exec(create.stdout);
  assert.ok(id && id[1] === id[2], create.stdout);
  const res = await stack.inject({ method: 'GET', url: `/v1/plans/${id[1]}` });
  const created = res.json() as { id: string; hostCount: number; phases: { name: string; size: number }[] };
  // The canary is the one host that can run; the refused ones are in no phase.
  assert.equal(created.hostCount, 3);
  assert.deepEqual(
    created.phases.map((p) => [p.name, p.size]),
    [['canary', 1]],
  );
  // Excluded hosts are not the plan's: another plan (an agent upgrade) may take them meanwhile.
  assert.equal(scheduler.engine.livePlanOf(OLD_HOST), null);
  assert.equal(scheduler.engine.livePlanOf(SILENT_HOST), null);

  type View = {
    state: string;
    stateReason: string;
    budget: { used: number };
    counters: { total: number; succeeded: number; failed: number; excluded: number; failures: number };
  };
  const done = await waitUntil(
    async () => {
      const view = (await stack.inject({ method: 'GET', url: `/v1/plans/${created.id}` })).json() as View;
      return { done: view.state === 'completed', value: view, state: JSON.stringify(view.counters) };
    },
    { what: `plan ${created.id} completed` },
  );
  assert.equal(done.stateReason, 'every host migrated but the 2 excluded');
  assert.deepEqual(
    { ...done.counters, budgetUsed: done.budget.used },
    { ...done.counters, total: 3, succeeded: 1, failed: 0, excluded: 2, failures: 0, budgetUsed: 0 },
  );

  const hosts = (await stack.inject({ method: 'GET', url: `/v1/plans/${created.id}/hosts` })).json() as {
    hosts: { hostId: string; state: string; exclusionReason: string; history: unknown[] }[];
  };
  assert.deepEqual(
    hosts.hosts.map((h) => [h.hostId, h.state, h.exclusionReason, h.history.length > 0]),
    [
      [NEW_HOST, 'succeeded', '', true],
      [OLD_HOST, 'excluded', `agent ${OLD} is older than the plan's minimum ${AGENT_VERSION}`, false],
      [SILENT_HOST, 'excluded', `agent version unknown (none reported at registration); the plan's minimum is ${AGENT_VERSION}`, false],
    ],
  );

  // Where an operator looks: yx plan hosts, and yx host show.
  const planHosts = await runYx(stack.apiUrl, ['plan', 'hosts', created.id]);
  assert.equal(planHosts.code, 0, planHosts.stderr);
  assert.match(
    planHosts.stdout,
    new RegExp(`^${OLD_HOST} +- +av-old +excluded +- +none +agent ${OLD} is older than the plan's minimum`, 'm'),
  );
  const shown = await runYx(stack.apiUrl, ['host', 'show', OLD_HOST]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`^${OLD_HOST} +debian 11 +agent ${OLD} `));
  assert.match(
    shown.stdout,
    new RegExp(`plan ${created.id} +run \\S+ +excluded: agent ${OLD} is older than the plan's minimum ${AGENT_VERSION}`),
  );

  const audit = await scheduler.models.Audit.findOne({ planId: created.id, action: 'plan.create' }).lean();
  assert.deepEqual(
    { min: audit?.details.minAgentVersion, refused: audit?.details.refusedForAgentVersion },
    { min: AGENT_VERSION, refused: 2 },
  );
});
