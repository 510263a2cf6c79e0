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

test('a run pending again (a retry) is taken again, though runs after it were taken since', () => {
  const rt = runtime([{}, {}, {}], {}, { limits: { maxInFlight: 2 } });
  assert.deepEqual(taken(rt), ['h0', 'h1']);
  for (const key of rt.order.slice(0, 2)) rt.replace(activeRun(rt.run(key)));
  rt.replace(testRun('p', 'h0', 0, { cluster: '', zone: '', rack: '', state: 'failed', failure: failure() }));
  rt.replace(testRun('p', 'h0', 0, { cluster: '', zone: '', rack: '' }));
  assert.deepEqual(taken(rt), ['h0']);
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

// ---------------------------------------------------------------- longest first, and what a pick costs

/** `rt` with each host's predicted seconds (hN → seconds[N]). */
function predicted(rt: PlanRuntime, seconds: (number | undefined)[]): PlanRuntime {
  rt.pendingQueues.predictWith((run) => seconds[Number(run.hostId.slice(1))], rt.runs.values());
  return rt;
}

test('the longest predicted host first, within its wave: a later wave waits for the open one', () => {
  const phases = [
    { index: 0, name: 'canary', size: 3, budget: 3 },
    { index: 1, name: 'wave 1', size: 2, budget: 2 },
  ];
  const hosts = [{ phase: 0 }, { phase: 0 }, { phase: 0 }, { phase: 1 }, { phase: 1 }];
  const rt = predicted(runtime(hosts, { phases, openPhase: 1 }), [100, 900, 300, 5000, 50]);
  assert.deepEqual(taken(rt), ['h1', 'h2', 'h0', 'h3', 'h4']);
  assert.deepEqual(taken(predicted(runtime(hosts, { phases }), [100, 900, 300, 5000, 50])), ['h1', 'h2', 'h0'], 'wave 1 not open');
  // Hosts nothing is known of start after the predicted ones, in the plan's order.
  assert.deepEqual(taken(predicted(runtime([{}, {}, {}]), [undefined, 100, undefined])), ['h1', 'h0', 'h2']);
});

test('longest first within the domain limits: the longest of a full cluster waits, the next longest starts', () => {
  const hosts = [{ cluster: 'a', state: 'active' as const }, { cluster: 'a' }, { cluster: 'b' }, { cluster: 'b' }];
  const plan = { domainLimits: [{ domain: 'cluster' as const, name: 'a', members: 2, limit: 1 }] };
  const rt = predicted(runtime(hosts, plan, { clusterCheck: { minHealthyPercent: 0 } }), [1, 9000, 10, 500]);
  assert.deepEqual(taken(rt, fleet({ 'cluster:a': ['h0', 'h1'] }, ['h0'])), ['h3', 'h2']);
});

test('what finished corrects the prediction of its kind: hosts of a kind that ran slower move ahead', () => {
  // Two kinds (size classes): h0-h3 predicted at 2 minutes, h4-h7 at 16.
  const rt = predicted(runtime(Array.from({ length: 8 }, () => ({}))), [120, 120, 120, 120, 960, 960, 960, 960]);
  assert.deepEqual(taken(rt).slice(0, 4), ['h4', 'h5', 'h6', 'h7']);
  const finish = (key: string, seconds: number): void => {
    const at = Date.parse('2030-01-07T09:00:00Z');
    const slots = [{ takenSeq: 1, takenAt: new Date(at), releasedSeq: 2, releasedAt: new Date(at + seconds * 1000) }];
    rt.replace({ ...rt.run(key), state: 'succeeded', slots });
  };
  // Three of each finished: the short kind took 20 times its prediction (40 minutes), the long one as predicted.
  for (const key of ['p/h0', 'p/h1', 'p/h2']) finish(key, 2400);
  for (const key of ['p/h4', 'p/h5', 'p/h6']) finish(key, 960);
  assert.deepEqual(taken(rt), ['h3', 'h7']);
});

test('a pick looks at the runs it takes, not at the runs waiting behind full domains', () => {
  /** Runs and fleet calls pickHosts makes with `blocked` pending hosts in 10 full clusters and 3 free hosts. */
  const lookups = (blocked: number): { take: string[]; looked: number } => {
    const clusters = Array.from({ length: 10 }, (_, i) => `c${i}`);
    const hosts: Where[] = [
      ...clusters.map((cluster) => ({ cluster, state: 'active' as const })),
      ...Array.from({ length: blocked }, (_, i) => ({ cluster: clusters[i % 10] })),
      { cluster: 'free' },
      { cluster: 'free' },
      { cluster: 'free' },
    ];
    const domainLimits = clusters.map((name) => ({ domain: 'cluster' as const, name, members: 1 + blocked / 10, limit: 1 }));
    const rt = runtime(hosts, { domainLimits, budget: hosts.length }, { clusterCheck: { minHealthyPercent: 0 } });
    let looked = 0;
    const counted =
      <A extends unknown[], R>(fn: (...a: A) => R) =>
      (...a: A): R => {
        looked++;
        return fn(...a);
      };
    const view = { ...rt, runs: { get: counted((key: string) => rt.runs.get(key)) } } as unknown as PlanRuntime;
    const f: FleetView = {
      isOccupied: counted((h: string) => rt.runs.get(`p/${h}`)?.state === 'active'),
      members: counted(() => new Set<string>()),
      isAlive: counted(() => true),
      inFlightIn: counted((d: Domain, name: string) => rt.inFlightByDomain.get(`${d}:${name}`) ?? 0),
    };
    return { take: pickHosts(view, f, NOW).take.map((r) => r.hostId), looked };
  };
  const small = lookups(100);
  const large = lookups(10_000);
  assert.deepEqual(small.take, ['h110', 'h111', 'h112']);
  assert.deepEqual(large.take, ['h10010', 'h10011', 'h10012']);
  assert.equal(large.looked, small.looked, `${small.looked} lookups with 100 blocked, ${large.looked} with 10,000`);
});

test('hosts deferred by their cluster check cost a pick nothing until they are due', () => {
  /** Runs and fleet calls pickHosts makes with `deferred` hosts of cluster c deferred past NOW, and one free host. */
  const lookups = (deferred: number, now = NOW): { take: string[]; looked: number } => {
    const hosts: Where[] = [
      ...Array.from({ length: deferred }, () => ({ cluster: 'c', notBefore: new Date(NOW + 60_000) })),
      { cluster: 'free' },
    ];
    const rt = runtime(hosts, { budget: hosts.length }, { clusterCheck: { minHealthyPercent: 0 }, limits: { maxInFlight: 5 } });
    let looked = 0;
    const view = {
      ...rt,
      runs: {
        get: (key: string) => {
          looked++;
          return rt.runs.get(key);
        },
      },
    } as unknown as PlanRuntime;
    return { take: pickHosts(view, fleet(), now).take.map((r) => r.hostId), looked };
  };
  assert.deepEqual(lookups(10).take, ['h10']);
  assert.equal(lookups(1000).looked, lookups(10).looked, 'as many lookups with 1,000 deferred hosts as with 10');
  assert.deepEqual(lookups(10, NOW + 60_000).take, ['h0', 'h1', 'h2', 'h3', 'h4'], 'once due, they are taken');
});

test('a cluster at its quorum is closed for the tick: what a pick looks at beyond its takes does not grow with its waiting hosts', () => {
  /** Runs pickHosts looks at with `waiting` pending hosts of cluster c (2 of 4 members in flight at 50 %) and one free host. */
  const lookups = (waiting: number, dead: string[] = []): { take: string[]; looked: number } => {
    const hosts: Where[] = [
      { cluster: 'c', state: 'active' },
      { cluster: 'c', state: 'active' },
      ...Array.from({ length: waiting }, () => ({ cluster: 'c' })),
      { cluster: 'free' },
    ];
    const n = hosts.length;
    const rt = runtime(hosts, { budget: n, phases: [{ index: 0, name: 'all', size: n, budget: n }] }, { limits: { maxInFlight: n } });
    const members = { 'cluster:c': hosts.slice(0, -1).map((_, i) => `h${i}`) };
    let looked = 0;
    const view = {
      ...rt,
      runs: {
        get: (key: string) => {
          looked++;
          return rt.runs.get(key);
        },
      },
    } as unknown as PlanRuntime;
    const occupied = ['h0', 'h1'];
    return { take: pickHosts(view, fleet(members, occupied, dead), NOW).take.map((r) => r.hostId), looked };
  };
  // 2 + 4 members: 4 must stay healthy; 4 are, so none may go.
  assert.deepEqual(lookups(4).take, ['h6']);
  // 2 + 400 members: 202 must stay, 400 are: 198 go, then the cluster is closed for the tick.
  assert.equal(lookups(400).take.length, 199);
  const few = lookups(20);
  const many = lookups(2000);
  assert.equal(many.take.length - few.take.length, (2000 - 20) / 2, 'half of each cluster goes');
  assert.equal(many.looked - many.take.length, few.looked - few.take.length, 'the same looks beyond what is taken');
  // A dead host is still taken while the cluster sits at its quorum exactly: of 8 members
  // 5 must stay healthy, and 5 are (h2-h6; h7 is dead).
  assert.deepEqual(lookups(6, ['h7']).take, ['h7', 'h8']);
});
