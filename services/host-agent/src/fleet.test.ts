// A simulated reboot power-cycles one agent in the background. If starting it again fails
// (the bus refuses a subscription), the host must not stay off for good: the failure is
// logged and the start tried again, and nothing is left as an unhandled rejection.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AgentCommand, type Bus, Step, silentLogger, UnavailableError } from '@yixing/common';
import { defaultSimulateOptions, type SimulateOptions, simulatedHostSize } from './drivers/simulate/simulate.driver.ts';
import { parseSimulateConfig } from './drivers/simulate/simulate-config.ts';
import { type FleetSpec, fleetIdentities, SimulatedFleet, simulatedHostFacts } from './fleet.ts';

type Handler = (cmd: AgentCommand, delivery: { respond(ack: unknown): void }) => unknown;

/** A bus on which the second subscription (the first restart) is refused. */
class RestartFailingBus {
  readonly nc = { isClosed: () => false };
  subscriptions = 0;
  handler: Handler | undefined;
  subscribe(_name: string, _tokens: unknown, handler: Handler) {
    this.subscriptions++;
    if (this.subscriptions === 2) throw new UnavailableError('injected: the bus refused the subscription');
    this.handler = handler;
    return { unsubscribe: () => undefined };
  }
  publish() {}
  async publishDurable() {
    return {};
  }
  async request() {
    return { accepted: true, reason: '' };
  }
}

const spec = (size: number, osVersion: string): FleetSpec => ({
  size,
  clusters: 1,
  zones: 1,
  racksPerZone: 1,
  pool: 'p',
  prefix: 'f',
  osId: 'debian',
  osVersion,
  offset: 0,
});

test('a simulated host whose start after a reboot fails is started again, the failure logged', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const stateDir = await mkdtemp(path.join(tmpdir(), 'yx-fleet-'));
  const bus = new RestartFailingBus();
  const errors: string[] = [];
  const log = Object.assign(silentLogger(), { error: (obj: { err?: string }) => errors.push(obj.err ?? '') });
  const [identity] = fleetIdentities(spec(1, '11'), 'test');
  const fleet = new SimulatedFleet({
    bus: bus as unknown as Bus,
    log,
    journal: { append: async () => undefined },
    stateDir,
    simulate: { ...defaultSimulateOptions, durations: { reboot: { minMs: 1, maxMs: 1 } } },
    heartbeatIntervalMs: 60_000,
    identities: [identity as NonNullable<typeof identity>],
  });
  try {
    await fleet.start();
    const reboot = {
      commandId: 'r1.0.reboot.1',
      hostId: identity?.hostId,
      runId: 'r1',
      action: {
        case: 'runStep',
        value: { step: Step.REBOOT, attempt: 1, profile: 'p', dryRun: false, backupId: '', planId: 'plan', timeoutSeconds: 0 },
      },
    } as unknown as AgentCommand;
    await new Promise((respond) => void bus.handler?.(reboot, { respond }));
    // Until the host is back (a third subscription) or the power cycle's failure went unhandled.
    while (bus.subscriptions < 3 && unhandled.length === 0) await sleep(10);
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
    assert.equal(bus.subscriptions, 3, 'the host was started again');
    assert.ok(
      errors.some((e) => /injected/.test(e)),
      `the failed start is logged: ${JSON.stringify(errors)}`,
    );
  } finally {
    await fleet.stop();
    process.off('unhandledRejection', onUnhandled);
    await rm(stateDir, { recursive: true, force: true });
  }
});

/** A fleet of these hosts on a RegistrationBus, its state in a new directory. */
async function registrationFleet(opts: SimulateOptions, ids: ReturnType<typeof fleetIdentities>) {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'yx-fleet-'));
  const bus = new RegistrationBus();
  const fleet = new SimulatedFleet({
    bus: bus as unknown as Bus,
    log: silentLogger(),
    journal: { append: async () => undefined },
    stateDir,
    simulate: opts,
    heartbeatIntervalMs: 60_000,
    identities: ids,
  });
  return { stateDir, bus, fleet };
}

/** A bus that records registrations and takes nothing else. */
class RegistrationBus {
  readonly nc = { isClosed: () => false };
  readonly registrations: { hostId: string; facts: { roles: string[]; factsDigest: string } }[] = [];
  subscribe() {
    return { unsubscribe: () => undefined };
  }
  publish() {}
  async request(_name: string, init: { hostId: string; facts: { roles: string[]; factsDigest: string } }) {
    this.registrations.push(init);
    return { accepted: true, reason: '' };
  }
}

test('simulated hosts register with the roles the rehearsal plants and a digest of what their assessment reports', async () => {
  const opts = parseSimulateConfig(
    JSON.stringify({
      roles: [{ role: 'containers', rate: 0.5 }],
      findings: [{ hosts: ['f-1'], finding: { id: 'held-packages', severity: 'high', inhibitor: true, title: 'held' } }],
    }),
  );
  const ids = fleetIdentities(spec(4, '11'), 'test');
  const facts = ids.map((id) => simulatedHostFacts(id, opts));
  assert.deepEqual(
    facts.map((f) => f.roles),
    [[], ['containers'], ['containers'], ['containers']],
    'the planted share of hosts runs containers',
  );
  assert.equal(new Set(facts.map((f) => f.factsDigest)).size, 4, 'each host its own digest');
  assert.deepEqual(simulatedHostFacts(ids[1] as (typeof ids)[0], opts), facts[1], 'the same host and config: the same digest');
  // Another release, another config: another digest.
  const [upgraded] = fleetIdentities(spec(4, '12'), 'test');
  assert.notEqual(simulatedHostFacts(upgraded as (typeof ids)[0], opts).factsDigest, facts[0]?.factsDigest);
  assert.notEqual(simulatedHostFacts(ids[1] as (typeof ids)[0], defaultSimulateOptions).factsDigest, facts[1]?.factsDigest);

  const { stateDir, bus, fleet } = await registrationFleet(opts, ids);
  try {
    await fleet.start();
    while (bus.registrations.length < 4) await sleep(5);
    const byHost = new Map(bus.registrations.map((r) => [r.hostId, r.facts]));
    for (const [i, id] of ids.entries()) {
      assert.deepEqual(
        [byHost.get(id.hostId)?.roles, byHost.get(id.hostId)?.factsDigest],
        [facts[i]?.roles, facts[i]?.factsDigest],
        id.hostId,
      );
    }
  } finally {
    await fleet.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
});

test('sized hosts register their size', async () => {
  const opts = parseSimulateConfig(
    JSON.stringify({ size: { sigma: 0.5, noiseSigma: 0.3, packages: 800, installedBytes: 2e9, diskUsedBytes: 1e10 }, state: 'memory' }),
  );
  const ids = fleetIdentities(spec(6, '11'), 'test');
  const { stateDir, bus, fleet } = await registrationFleet(opts, ids);
  try {
    await fleet.start();
    while (bus.registrations.length < 6) await sleep(5);
    for (const r of bus.registrations) {
      const size = simulatedHostSize(opts, r.hostId);
      assert.ok(size && size.packageCount > 0);
      assert.deepEqual(pick(r.facts as unknown as Record<string, unknown>), size, r.hostId);
    }
    assert.equal(new Set(bus.registrations.map((r) => (r.facts as unknown as { packageCount: number }).packageCount)).size, 6);
  } finally {
    await fleet.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
});

const pick = (facts: Record<string, unknown>) => ({
  packageCount: facts.packageCount,
  installedBytes: facts.installedBytes,
  diskUsedBytes: facts.diskUsedBytes,
});

test('uneven clusters: cluster c holds about 2(c+1) ÷ k(k+1) of the hosts, whichever process carries them', () => {
  const clusters = 10;
  const whole = fleetIdentities({ ...spec(20_000, '11'), clusters }, 'test', { clusterSizes: 'uneven' });
  const split = [0, 1].flatMap((p) =>
    fleetIdentities({ ...spec(10_000, '11'), clusters, offset: p * 10_000 }, 'test', { clusterSizes: 'uneven' }),
  );
  assert.deepEqual(
    split.map((i) => i.labels.cluster),
    whole.map((i) => i.labels.cluster),
    'the same cluster for the same host index',
  );
  const counts = new Map<string, number>();
  for (const id of whole) counts.set(id.labels.cluster as string, (counts.get(id.labels.cluster as string) ?? 0) + 1);
  for (let c = 0; c < clusters; c++) {
    const expected = (20_000 * 2 * (c + 1)) / (clusters * (clusters + 1));
    const got = counts.get(`c${String(c).padStart(2, '0')}`) ?? 0;
    assert.ok(Math.abs(got - expected) < 0.15 * expected + 30, `cluster ${c}: ${got} hosts, about ${expected.toFixed(0)} expected`);
  }
  assert.ok(
    fleetIdentities({ ...spec(100, '11'), clusters }, 'test').every(
      (id, i) => id.labels.cluster === `c${String(i % clusters).padStart(2, '0')}`,
    ),
    'even by default',
  );
  assert.equal(fleetIdentities({ ...spec(1, '11'), clusters }, 'test', { clusterPrefix: 'idle' })[0]?.labels.cluster, 'idle00');
});
