// Admission (docs/error-budget.md, "Other limits, and when a host is taken"): each limit
// alone, on a plan whose other limits are wide open.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostRunDoc, PlanDoc } from '../db/models.ts';
import type { PlanSpec } from '../plans/plan-spec.ts';
import { type Domain, type FleetView, pickHosts } from './admission.ts';
import { activeRun, testPlan, testRun } from './engine.fixtures.ts';
import { PlanRuntime } from './plan-runtime.ts';

const NOW = Date.parse('2030-01-07T10:00:00Z'); // a Monday

type Where = Partial<Pick<HostRunDoc, 'cluster' | 'zone' | 'rack' | 'phase' | 'state' | 'notBefore' | 'failure'>>;

/** A plan of `hosts` (h0, h1, …) with a wide budget and in-flight limit unless overridden. */
function runtime(hosts: Where[], plan: Partial<PlanDoc> = {}, spec: Partial<PlanSpec> = {}): PlanRuntime {
  const doc = testPlan('p', hosts.length, { budget: 100, ...plan });
  doc.spec = { ...doc.spec, limits: { maxInFlight: 100 }, ...spec };
  if (!plan.phases) doc.phases = [{ index: 0, name: 'canary', size: hosts.length, budget: 100 }];
  const runs = hosts.map((w, i) => {
    const base = testRun('p', `h${i}`, i, { cluster: '', zone: '', rack: '', ...w, phase: w.phase ?? 0 });
    return w.state === 'active' ? activeRun(base) : base;
  });
  return new PlanRuntime(doc, runs);
}

/** A fleet where every listed domain has the given members; `occupied` hosts are in flight in some plan. */
function fleet(members: Partial<Record<`${Domain}:${string}`, string[]>> = {}, occupied: string[] = [], dead: string[] = []): FleetView {
  return {
    isOccupied: (h) => occupied.includes(h),
    members: (d, name) => new Set(members[`${d}:${name}`] ?? []),
    isAlive: (h) => !dead.includes(h),
  };
}

const taken = (rt: PlanRuntime, f = fleet(), now = NOW): string[] => pickHosts(rt, f, now).take.map((r) => r.hostId);

test('no windows: hosts start at any time; outside every window none does', () => {
  const hosts = [{}, {}];
  assert.deepEqual(taken(runtime(hosts)), ['h0', 'h1']);
  const windows = [{ start: '2030-01-07T12:00:00Z', end: '2030-01-07T14:00:00Z' }];
  assert.deepEqual(taken(runtime(hosts, {}, { windows })), [], 'before the window');
  assert.deepEqual(taken(runtime(hosts, {}, { windows }), fleet(), Date.parse('2030-01-07T12:30:00Z')), ['h0', 'h1'], 'inside');
});

test('window cut-off: no host starts within windowCutoffMinutes of the end', () => {
  const windows = [{ days: ['mon'], from: '09:00', to: '11:00' }];
  const rt = (cutoff: number) => runtime([{}], {}, { windows, windowCutoffMinutes: cutoff });
  assert.deepEqual(taken(rt(59)), ['h0'], '60 minutes left, cut-off 59');
  assert.deepEqual(taken(rt(60)), [], '60 minutes left, cut-off 60: too late');
});

test('limits.maxInFlight caps the hosts in flight in the plan, counting those already in flight', () => {
  const rt = runtime([{ state: 'active' }, {}, {}, {}], {}, { limits: { maxInFlight: 2 } });
  assert.deepEqual(taken(rt), ['h1']);
});

test('plan budget: a host is taken only if F + A + 1 <= B', () => {
  const failed = { state: 'failed' as const, failure: failure() };
  // B = 3, F = 1, A = 1: one more may start (1 + 1 + 1 <= 3), not two.
  assert.deepEqual(taken(runtime([failed, { state: 'active' }, {}, {}], { budget: 3 })), ['h2']);
  // B = 2, F = 1, A = 1: none (1 + 1 + 1 > 2).
  assert.deepEqual(taken(runtime([failed, { state: 'active' }, {}, {}], { budget: 2 })), []);
  // The budget is a concurrency limit too: B = 2, nothing failed, maxInFlight 100.
  assert.deepEqual(taken(runtime([{}, {}, {}, {}], { budget: 2 })), ['h0', 'h1']);
});

test('plan budget exhausted (F = B): no host starts', () => {
  const failed = { state: 'failed' as const, failure: failure() };
  assert.deepEqual(taken(runtime([failed, failed, {}], { budget: 2 })), []);
});

test('wave budget: the same rule per wave, with the wave’s own F, A and budget', () => {
  const failed = { state: 'failed' as const, failure: failure(), phase: 1 };
  const rt = runtime([{ phase: 0, state: 'succeeded' }, failed, { phase: 1 }, { phase: 1 }, { phase: 1 }], {
    openPhase: 1,
    phases: [
      { index: 0, name: 'canary', size: 1, budget: 1 },
      { index: 1, name: 'wave 1', size: 4, budget: 3 },
    ],
  });
  // Wave 1: B = 3, F = 1: two may be in flight.
  assert.deepEqual(taken(rt), ['h2', 'h3']);
});

test('hosts of a phase not yet open are not taken; a host deferred until later is skipped', () => {
  const rt = runtime([{ phase: 0, notBefore: new Date(NOW + 1) }, { phase: 0 }, { phase: 1 }], {
    phases: [
      { index: 0, name: 'canary', size: 2, budget: 2 },
      { index: 1, name: 'wave 1', size: 1, budget: 1 },
    ],
  });
  assert.deepEqual(taken(rt), ['h1']);
  assert.deepEqual(taken(rt, fleet(), NOW + 1_000), ['h0', 'h1'], 'once its time has come');
});

test('a host in flight in another plan is not taken', () => {
  assert.deepEqual(taken(runtime([{}, {}]), fleet({}, ['h0'])), ['h1']);
});

for (const domain of ['cluster', 'zone', 'rack'] as const) {
  test(`per-${domain} limit counts hosts in flight in every live plan, and this tick's takes`, () => {
    const hosts = [{ [domain]: 'd1' }, { [domain]: 'd1' }, { [domain]: 'd1' }, { [domain]: 'd2' }];
    const plan = { domainLimits: [{ domain, name: 'd1', members: 4, limit: 2 }] };
    const noQuorum = { clusterCheck: { minHealthyPercent: 0 } }; // tested on its own below
    const members = { [`${domain}:d1`]: ['h0', 'h1', 'h2', 'other'] };
    assert.deepEqual(taken(runtime(hosts, plan, noQuorum), fleet(members)), ['h0', 'h1', 'h3'], 'two of d1; d2 has no limit');
    assert.deepEqual(
      taken(runtime(hosts, plan, noQuorum), fleet(members, ['other'])),
      ['h0', 'h3'],
      'another plan has one of d1 in flight',
    );
  });
}

test('quorum: a cluster keeps floor(minHealthy% × members) + 1 healthy peers', () => {
  // 5 members at 50 %: 3 must stay healthy, so 2 may leave.
  const hosts = Array.from({ length: 5 }, () => ({ cluster: 'c' }));
  const members = { 'cluster:c': ['h0', 'h1', 'h2', 'h3', 'h4'] };
  assert.deepEqual(taken(runtime(hosts), fleet(members)), ['h0', 'h1']);
  assert.deepEqual(taken(runtime(hosts), fleet(members, ['h4'])), ['h0'], 'one already in flight elsewhere');
  // h4 is dead: not a healthy peer (so only h0 of the live ones may leave), and taking it costs none.
  assert.deepEqual(taken(runtime(hosts), fleet(members, [], ['h4'])), ['h0', 'h4']);
  assert.deepEqual(taken(runtime(hosts, {}, { clusterCheck: { minHealthyPercent: 0 } }), fleet(members)), ['h0', 'h1', 'h2', 'h3', 'h4']);
});

test('quorum: a dead host may be taken without costing a healthy peer', () => {
  const hosts = Array.from({ length: 3 }, () => ({ cluster: 'c' }));
  // 3 members at 50 %: 2 must stay healthy; h0 is dead, h1 and h2 healthy.
  assert.deepEqual(taken(runtime(hosts), fleet({ 'cluster:c': ['h0', 'h1', 'h2'] }, [], ['h0'])), ['h0']);
});

test('the pending cursor moves past runs that are no longer pending, and stops at the first pending one', () => {
  const rt = runtime([{ state: 'succeeded' }, { state: 'failed', failure: failure() }, {}, { state: 'succeeded' }]);
  assert.equal(pickHosts(rt, fleet(), NOW).pendingCursor, 2);
});

function failure(): NonNullable<HostRunDoc['failure']> {
  return { step: 'precheck', kind: 'execution', code: 'X', message: 'x', seq: 1, at: new Date(NOW) };
}

test('quorum by role: a cluster mixing roles keeps a quorum of each', () => {
  // Cluster c: h0-h3 are HDFS datanodes, h4-h6 run nothing detected (say ZooKeeper).
  const hosts = Array.from({ length: 7 }, () => ({ cluster: 'c' }));
  const members = { 'cluster:c': ['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6'] };
  const roles: Record<string, string[]> = { h0: ['hdfs-datanode'], h1: ['hdfs-datanode'], h2: ['hdfs-datanode'], h3: ['hdfs-datanode'] };
  const f = { ...fleet(members), rolesOf: (h: string) => roles[h] ?? [] };
  // At 50 %: of 4 datanodes 3 must stay (1 may go); of the 3 others 2 must stay (1 may go).
  assert.deepEqual(taken(runtime(hosts), f), ['h0', 'h4']);
  assert.deepEqual(taken(runtime(hosts), fleet(members)), ['h0', 'h1', 'h2'], 'without roles: one quorum of 7, 4 must stay');
});
