// A pool assessment (issue 15): an assess-mode plan over a simulated pool with planted
// inhibitors and warnings runs only the precheck on every host, changes nothing, and its
// report counts the hosts ready, with warnings and inhibited, groups the inhibitors by
// kind with their hosts and remediation, and adds up the download. After the inhibitor of
// one host is remediated, reassessing what changed assesses that host only; the others
// keep their assessment. The scheduler and the fleets run as processes.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { bearer } from '../fixtures/api-access.ts';
import { runYx } from '../fixtures/cli-io.ts';
import { foreign, held } from '../fixtures/planted-findings.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

interface FindingKind {
  kind: string;
  severity: string;
  remediation: string;
  hostCount: number;
  hosts: string[];
}
interface Report {
  counts: { hosts: number; ready: number; warnings: number; inhibited: number; notAssessed: number; reused: number };
  inhibitors: FindingKind[];
  warnings: FindingKind[];
  totals: { hosts: number; downloadBytes: number };
  estimate: unknown;
  hosts: { hostId: string; status: string; source: string | null; planId: string; inhibitors: string[] }[];
}
interface PlanView {
  id: string;
  state: string;
  counters: { total: number; excluded: number };
}

const MiB = 1024 * 1024;
const module = { id: 'removed-kernel-module:floppy', severity: 'medium', title: 'module floppy is loaded', remediation: 'unload it' };

/** The rehearsal of one half of the pool: every precheck fast, every host a 40 MiB download. */
const sim = (findings: unknown[]) => ({
  durations: { precheck: 100 },
  previews: [{ downloadBytes: 40 * MiB, installBytes: 90 * MiB, upgrades: 120, installs: 4, packages: 400 }],
  findings,
  roles: [{ hosts: ['pa-05', 'pa-06'], role: 'containers' }],
});
const FIRST_HALF = [
  { hosts: ['pa-01', 'pa-02'], finding: held },
  { hosts: ['pa-03'], finding: foreign },
  { hosts: ['pa-04'], finding: module },
];
const secondHalf = (heldOn: string[]) => [
  ...(heldOn.length > 0 ? [{ hosts: heldOn, finding: held }] : []),
  { hosts: ['pa-12'], finding: module },
];

let stack: Stack;
let base = '';
const procs: ServiceProcess[] = [];
let secondFleet: ServiceProcess;
let firstPlan = '';

async function get<T>(pathname: string): Promise<T> {
  return api<T>(base, 'GET', pathname);
}

const completed = (planId: string): Promise<PlanView> =>
  waitUntil(
    async () => {
      const p = await get<PlanView>(`/v1/plans/${planId}`);
      return { done: p.state === 'completed', value: p, state: p.state };
    },
    { what: `assessment ${planId} completed` },
  );

const startSecondHalf = (heldOn: string[]) =>
  startFleet(stack, { size: 10, offset: 10, clusters: 2, pool: 'assess', prefix: 'pa', sim: sim(secondHalf(heldOn)) }, 'fleet-pa-2');

before(async () => {
  stack = await startStack('pool_assessment');
  const scheduler = await startScheduler(stack);
  procs.push(scheduler.proc);
  base = scheduler.api;
  procs.push(await startFleet(stack, { size: 10, clusters: 2, pool: 'assess', prefix: 'pa', sim: sim(FIRST_HALF) }, 'fleet-pa-1'));
  secondFleet = await startSecondHalf(['pa-11']);
  await waitForHosts(base, 20);
});

after(async () => {
  for (const p of [...procs, secondFleet].reverse()) await p?.kill('SIGTERM');
  await stack?.stop();
});

test('the roles agents detect are in the inventory, yx hosts list, and what a plan selects', async () => {
  const listed = await runYx(base, ['hosts', 'list', '--role', 'containers']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(
    listed.stdout
      .split('\n')
      .filter((l) => /^pa-/.test(l))
      .map((l) => l.split(/\s+/)[0]),
    ['pa-05', 'pa-06'],
  );
  assert.match(listed.stdout, /^pa-05\s.*\bcontainers\b/m);
  const plan = await api<PlanView>(base, 'POST', '/v1/plans', {
    name: 'container hosts',
    mode: 'assess',
    selector: { role: 'containers' },
    profile: 'debian-11-to-12',
    startPaused: true,
  });
  assert.equal(plan.counters.total, 2, 'selector.role matches a detected role');
  await api(base, 'POST', `/v1/plans/${plan.id}/abort`, {});
  await waitUntil(
    async () => {
      const p = await get<PlanView>(`/v1/plans/${plan.id}`);
      return { done: p.state === 'aborted', value: p, state: p.state };
    },
    { what: 'the paused plan aborted' },
  );
});

test('an assessment refuses a canary or waves: it changes nothing, so it has none', async () => {
  const res = await fetch(new URL('/v1/plans', base), {
    method: 'POST',
    headers: { ...bearer('admin'), 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'a', mode: 'assess', selector: { pool: 'assess' }, profile: 'debian-11-to-12', canary: { count: 1 } }),
  });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /canary: an assessment changes nothing/);
});

test('the pool report: ready, warnings and inhibited hosts, inhibitors by kind, the download; nothing changed', async () => {
  const plan = await api<PlanView>(base, 'POST', '/v1/plans', {
    name: 'pool assessment',
    mode: 'assess',
    selector: { pool: 'assess' },
    profile: 'debian-11-to-12',
    limits: { maxInFlight: 4, perCluster: { count: 2 } },
  });
  firstPlan = plan.id;
  const done = await completed(plan.id);
  assert.equal(done.counters.total, 20);

  const report = await get<Report>(`/v1/plans/${plan.id}/assessment`);
  const { hosts, ready, warnings, inhibited, notAssessed, reused } = report.counts;
  assert.deepEqual(
    { hosts, ready, warnings, inhibited, notAssessed, reused },
    { hosts: 20, ready: 14, warnings: 2, inhibited: 4, notAssessed: 0, reused: 0 },
  );
  const byKind = new Map(report.inhibitors.map((k) => [k.kind, k]));
  assert.deepEqual(byKind.get('held-packages')?.hosts.sort(), ['pa-01', 'pa-02', 'pa-11']);
  assert.equal(byKind.get('held-packages')?.remediation, held.remediation);
  assert.deepEqual(byKind.get('foreign-repositories')?.hosts, ['pa-03']);
  assert.deepEqual(report.warnings.find((k) => k.kind === 'removed-kernel-module')?.hosts.sort(), ['pa-04', 'pa-12']);
  assert.equal(report.totals.hosts, 16, 'the hosts that could migrate now');
  assert.equal(report.totals.downloadBytes, 16 * 40 * MiB);
  assert.ok(report.estimate, 'an estimated duration');

  const csv = await (await fetch(new URL(`/v1/plans/${plan.id}/assessment?format=csv`, base), { headers: bearer('admin') })).text();
  const rows = csv.trim().split('\n');
  assert.equal(rows.length, 21, 'a header and a row per host');
  assert.match(rows.find((r) => r.startsWith('pa-03,')) ?? '', /inhibited/);

  // Nothing but the precheck ran on any host: the agents' own journals say so.
  const journal = await readFile(path.join(stack.dir, 'pa.journal.jsonl'), 'utf8');
  const entries = journal
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step: string; hostId: string; event: string });
  assert.deepEqual([...new Set(entries.map((e) => e.step))], ['precheck']);
  assert.equal(new Set(entries.filter((e) => e.event === 'run').map((e) => e.hostId)).size, 20, 'every host assessed, once');
  assert.equal(entries.filter((e) => e.event === 'run').length, 20);
});

test('reassessing what changed: only the remediated host is assessed again', async () => {
  assert.ok(firstPlan, 'the first assessment ran');
  type HostShown = { host: { facts: { factsDigest: string; roles: string[] } } };
  const before = (await get<HostShown>('/v1/hosts/pa-11')).host;
  await secondFleet.kill('SIGTERM');
  secondFleet = await startSecondHalf([]);
  await waitUntil(
    async () => {
      const h = (await get<HostShown>('/v1/hosts/pa-11')).host;
      return { done: h.facts.factsDigest !== before.facts.factsDigest, value: h, state: h.facts.factsDigest };
    },
    { what: 'pa-11 registered its new facts' },
  );
  const plan = await api<PlanView>(base, 'POST', '/v1/plans', {
    name: 'reassessment',
    mode: 'assess',
    reassess: 'changed',
    selector: { pool: 'assess' },
    profile: 'debian-11-to-12',
  });
  assert.equal(plan.counters.excluded, 19, 'the 19 unchanged hosts keep their assessment');
  await completed(plan.id);
  const report = await get<Report>(`/v1/plans/${plan.id}/assessment`);
  assert.equal(report.counts.reused, 19);
  assert.equal(report.counts.inhibited, 3, 'pa-01, pa-02 and pa-03 as before');
  assert.equal(report.counts.ready + report.counts.warnings, 17, 'pa-11 is ready now');
  const pa11 = report.hosts.find((h) => h.hostId === 'pa-11');
  assert.deepEqual({ status: pa11?.status, source: pa11?.source }, { status: 'ready', source: 'plan' });
  const pa01 = report.hosts.find((h) => h.hostId === 'pa-01');
  assert.deepEqual(
    { status: pa01?.status, source: pa01?.source, planId: pa01?.planId },
    { status: 'inhibited', source: 'reused', planId: firstPlan },
  );
});
