// The agent's command protocol with its edges faked (bus, state store, journal, driver):
// a journal that fails must not stop the agent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AgentCommand, type Bus, createRegistry, currentTraceparent, inSpan, Step, StepPhase, silentLogger } from '@yixing/common';
import { recordSpans } from '@yixing/common/internal';
import { HostAgent } from './agent.ts';
import { type AgentDeps, type AgentIdentity, planRollbackRequirement, type RefreshedFacts, withFactsDigest } from './agent-deps.ts';
import type { Driver, StepContext } from './drivers/driver.ts';
import { type Journal, type JournalEntry, journalFailureCounter } from './journal.ts';
import type { AgentState, AgentStateStore } from './state/agent-state.store.ts';

interface Ack {
  commandId: string;
  accepted: boolean;
  duplicate: boolean;
  reason: string;
}

/** The bus as the agent uses it: commands are delivered by `send`, events are recorded. */
class FakeBus {
  readonly nc = { isClosed: () => false };
  /** What was sent, and the trace it was sent in ('' outside any). */
  readonly events: { name: string; init: Record<string, unknown>; traceparent: string }[] = [];
  #onCommand: ((cmd: AgentCommand, delivery: { respond(ack: Ack): void }) => unknown) | undefined;

  subscribe(_name: string, _tokens: unknown, handler: (cmd: AgentCommand, delivery: { respond(ack: Ack): void }) => unknown) {
    this.#onCommand = handler;
    return { unsubscribe: () => undefined };
  }
  publish(name: string, init: Record<string, unknown>) {
    this.events.push({ name, init, traceparent: currentTraceparent() });
    return init;
  }
  async publishDurable(name: string, init: Record<string, unknown>) {
    this.events.push({ name, init, traceparent: currentTraceparent() });
    return {};
  }
  readonly registrations: Record<string, unknown>[] = [];
  async request(_name: string, init: Record<string, unknown>) {
    this.registrations.push(init);
    return { accepted: true, reason: '' };
  }
  send(cmd: Partial<AgentCommand>): Promise<Ack> {
    const handler = this.#onCommand;
    if (!handler) throw new Error('the agent has not subscribed');
    return new Promise((respond) => void handler(cmd as AgentCommand, { respond }));
  }
  /** The terminal step events of a command. */
  outcomes(commandId: string): Record<string, unknown>[] {
    return this.events
      .filter((e) => e.name === 'stepEvent' && e.init.commandId === commandId && e.init.phase !== StepPhase.RUNNING)
      .map((e) => e.init);
  }
}

class MemoryStateStore implements AgentStateStore {
  state: AgentState = { hostId: 'h1', recent: [] };
  async load() {
    return structuredClone(this.state);
  }
  async save(state: AgentState) {
    this.state = structuredClone(state);
  }
}

const identity: AgentIdentity = {
  hostId: 'h1',
  agentVersion: 'test',
  facts: { hostname: 'h1', osId: 'debian', osVersion: '11', arch: 'x86_64', kernel: '6' },
  labels: { pool: 'p', cluster: 'c', zone: 'z', rack: 'r', role: 'app' },
};

/** An agent on the fake bus with an in-memory state, no journal and no reboots; `deps` override. */
const testAgent = (bus: FakeBus, driver: Driver, deps: Partial<AgentDeps> = {}): HostAgent =>
  new HostAgent({
    bus: bus as unknown as Bus,
    identity,
    driver,
    store: new MemoryStateStore(),
    host: { bootId: () => 'boot', rebootable: false, reboot: async () => undefined },
    journal: { append: async () => undefined },
    log: silentLogger(),
    heartbeatIntervalMs: 60_000,
    ...deps,
  });

/** A driver whose steps run until they are cancelled; each run's abort signal, by run id. */
function runsUntilCancelled(): { signals: Map<string, AbortSignal>; driver: Driver } {
  const signals = new Map<string, AbortSignal>();
  const driver: Driver = {
    name: 'simulate',
    run: async (ctx: StepContext) => {
      signals.set(ctx.runId, ctx.signal);
      await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      return { ok: true };
    },
  };
  return { signals, driver };
}

const runStep = (commandId: string, runId: string): Partial<AgentCommand> =>
  ({
    commandId,
    hostId: 'h1',
    runId,
    action: {
      case: 'runStep',
      value: { step: Step.UPGRADE, attempt: 1, profile: 'p', dryRun: false, backupId: '', planId: 'plan', timeoutSeconds: 0 },
    },
  }) as unknown as Partial<AgentCommand>;

const runStepRequiring = (commandId: string, runId: string, rollbackRequired: string): Partial<AgentCommand> => {
  const cmd = runStep(commandId, runId) as { action: { value: Record<string, unknown> } };
  cmd.action.value.rollbackRequired = rollbackRequired;
  return cmd as Partial<AgentCommand>;
};

const cancel = (commandId: string, runId: string, step = Step.UPGRADE): Partial<AgentCommand> =>
  ({
    commandId,
    hostId: 'h1',
    runId,
    action: { case: 'cancelStep', value: { step, reason: 'operator' } },
  }) as unknown as Partial<AgentCommand>;

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A new agent (on the state of one that stopped) resumes the step in flight; waits for its outcome. */
async function resumeUntilOutcome(agentOn: (bus: FakeBus) => HostAgent, commandId: string): Promise<void> {
  const again = new FakeBus();
  const agent = agentOn(again);
  await agent.start();
  try {
    await until(`the outcome of the resumed ${commandId}`, () => again.outcomes(commandId)[0]);
  } finally {
    await agent.stop();
  }
}

test('a journal append that fails (ENOSPC) is reported, and the agent goes on: steps run, cancel works', async () => {
  const bus = new FakeBus();
  const written: JournalEntry[] = [];
  let failures = 0;
  const journal: Journal = {
    async append(entry) {
      if (failures++ === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      written.push(entry);
    },
  };
  // Run r1 finishes by itself; run r2 runs until it is cancelled.
  const started: string[] = [];
  const driver: Driver = {
    name: 'simulate',
    run: async (ctx: StepContext) => {
      started.push(ctx.runId);
      if (ctx.runId === 'r1') return { ok: true };
      await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      return { ok: true };
    },
  };
  const registry = createRegistry('host-agent', { processMetrics: false });
  const agent = testAgent(bus, driver, { journal, journalFailures: journalFailureCounter(registry) });
  await agent.start();
  try {
    // The journal fails on the first command's "run" entry: the step still runs and finishes.
    assert.deepEqual(await bus.send(runStep('c1', 'r1')), { commandId: 'c1', accepted: true, duplicate: false, reason: '' });
    const first = await until('the outcome of c1', () => bus.outcomes('c1')[0]);
    assert.equal(first.phase, StepPhase.SUCCEEDED);

    // The next command is taken (not "busy") and runs; a cancel finds it and ends it.
    assert.deepEqual(await bus.send(runStep('c2', 'r2')), { commandId: 'c2', accepted: true, duplicate: false, reason: '' });
    await until('run r2 to start', () => (started.includes('r2') ? true : undefined));
    assert.deepEqual(await bus.send(cancel('c2.cancel', 'r2')), { commandId: 'c2.cancel', accepted: true, duplicate: false, reason: '' });
    const second = await until('the outcome of c2', () => bus.outcomes('c2')[0]);
    assert.equal(second.phase, StepPhase.FAILED);
    assert.equal((second.error as { code: string }).code, 'STEP_CANCELLED');

    assert.deepEqual(started, ['r1', 'r2']);
    // Later appends were written, and the failure was counted.
    assert.deepEqual(
      written.map((e) => `${e.commandId}:${e.event}`),
      ['c1:finish', 'c2:run', 'c2:finish'],
    );
    assert.match(await registry.metrics(), /^yx_agent_journal_write_failures_total\{service="host-agent"\} 1$/m);
  } finally {
    await agent.stop();
  }
});

test('a cancel for another run or another step is refused and the running step goes on; its own cancel stops it', async () => {
  const bus = new FakeBus();
  const { signals, driver } = runsUntilCancelled();
  const agent = testAgent(bus, driver);
  await agent.start();
  try {
    await bus.send(runStep('c2', 'r2'));
    const signal = await until('run r2 to start', () => signals.get('r2'));
    const running = 'running: upgrade of run r2 (command c2)';
    assert.deepEqual(await bus.send(cancel('c1.cancel', 'r1')), {
      commandId: 'c1.cancel',
      accepted: false,
      duplicate: false,
      reason: `step upgrade of run r1 is not running; ${running}`,
    });
    assert.deepEqual(await bus.send(cancel('c2.cancel', 'r2', Step.BACKUP)), {
      commandId: 'c2.cancel',
      accepted: false,
      duplicate: false,
      reason: `step backup of run r2 is not running; ${running}`,
    });
    assert.equal(signal.aborted, false);
    assert.deepEqual(bus.outcomes('c2'), []);

    assert.equal((await bus.send(cancel('c2.cancel', 'r2'))).accepted, true);
    const outcome = await until('the outcome of c2', () => bus.outcomes('c2')[0]);
    assert.equal((outcome.error as { code: string }).code, 'STEP_CANCELLED');
    // Nothing runs now: a cancel is refused, not acknowledged as if it stopped something.
    assert.deepEqual(await bus.send(cancel('c2.cancel', 'r2')), {
      commandId: 'c2.cancel',
      accepted: false,
      duplicate: false,
      reason: 'step upgrade of run r2 is not running; running: nothing',
    });
  } finally {
    await agent.stop();
  }
});

test("a plan's rollback requirement: snapshot and packages are requirements, any and empty leave the profile's", () => {
  assert.equal(planRollbackRequirement('snapshot'), 'snapshot');
  assert.equal(planRollbackRequirement('packages'), 'packages');
  assert.equal(planRollbackRequirement('any'), undefined);
  assert.equal(planRollbackRequirement(''), undefined);
});

test("the plan's rollback requirement reaches the driver's step context, and a resumed step keeps it", async () => {
  const bus = new FakeBus();
  const store = new MemoryStateStore();
  const seen: { runId: string; rollbackRequired: string | undefined; resumed: boolean }[] = [];
  // Run r3 blocks until the agent stops: it is resumed by the next agent on the same state.
  const driver: Driver = {
    name: 'simulate',
    run: async (ctx: StepContext) => {
      seen.push({ runId: ctx.runId, rollbackRequired: ctx.rollbackRequired, resumed: ctx.resumed });
      if (ctx.runId !== 'r3' || ctx.resumed) return { ok: true };
      await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      return { ok: true };
    },
  };
  const agentOn = (b: FakeBus): HostAgent => testAgent(b, driver, { store });
  const first = agentOn(bus);
  await first.start();
  try {
    await bus.send(runStepRequiring('c1', 'r1', 'snapshot'));
    await until('the outcome of c1', () => bus.outcomes('c1')[0]);
    await bus.send(runStepRequiring('c2', 'r2', 'any'));
    await until('the outcome of c2', () => bus.outcomes('c2')[0]);
    await bus.send(runStepRequiring('c3', 'r3', 'packages'));
    await until('run r3 to start', () => seen.find((s) => s.runId === 'r3'));
  } finally {
    await first.stop();
  }
  await resumeUntilOutcome(agentOn, 'c3');
  assert.deepEqual(seen, [
    { runId: 'r1', rollbackRequired: 'snapshot', resumed: false },
    { runId: 'r2', rollbackRequired: undefined, resumed: false },
    { runId: 'r3', rollbackRequired: 'packages', resumed: false },
    { runId: 'r3', rollbackRequired: 'packages', resumed: true },
  ]);
});

const runStepContinuing = (commandId: string, runId: string, continuesRunId: string): Partial<AgentCommand> => {
  const cmd = runStep(commandId, runId) as { action: { value: Record<string, unknown> } };
  cmd.action.value.continuesRunId = continuesRunId;
  return cmd as Partial<AgentCommand>;
};

test('a run that continues an earlier one starts with its data, persisted before the step runs, copied once', async () => {
  const bus = new FakeBus();
  const store = new MemoryStateStore();
  const seen: { runId: string; continuesRunId: string | undefined; backup: unknown; persisted: unknown; resumed: boolean }[] = [];
  // r1 leaves a backup; r2 continues r1; r3 continues r2 and is interrupted after writing.
  const driver: Driver = {
    name: 'simulate',
    run: async (ctx: StepContext) => {
      seen.push({
        runId: ctx.runId,
        continuesRunId: ctx.continuesRunId,
        backup: ctx.runData.get('backup'),
        persisted: store.state.runData?.[ctx.runId]?.backup,
        resumed: ctx.resumed,
      });
      if (ctx.runId === 'r1') await ctx.runData.set('backup', { id: 'b-1' });
      if (ctx.runId === 'r2') await ctx.runData.set('upgrade-started', true);
      if (ctx.runId === 'r3' && !ctx.resumed) {
        await ctx.runData.set('backup', { id: 'b-3' });
        await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      }
      return { ok: true };
    },
  };
  const first = testAgent(bus, driver, { store });
  await first.start();
  try {
    await bus.send(runStep('c1', 'r1'));
    await until('the outcome of c1', () => bus.outcomes('c1')[0]);
    await bus.send(runStepContinuing('c2', 'r2', 'r1'));
    await until('the outcome of c2', () => bus.outcomes('c2')[0]);
    await bus.send(runStepContinuing('c3', 'r3', 'r2'));
    await until('run r3 to write', () =>
      (store.state.runData?.r3?.backup as { id: string } | undefined)?.id === 'b-3' ? true : undefined,
    );
  } finally {
    await first.stop();
  }
  await resumeUntilOutcome((b) => testAgent(b, driver, { store }), 'c3');
  assert.deepEqual(seen, [
    { runId: 'r1', continuesRunId: '', backup: undefined, persisted: undefined, resumed: false },
    { runId: 'r2', continuesRunId: 'r1', backup: { id: 'b-1' }, persisted: { id: 'b-1' }, resumed: false },
    { runId: 'r3', continuesRunId: 'r2', backup: { id: 'b-1' }, persisted: { id: 'b-1' }, resumed: false },
    // The resumed step keeps what its run wrote: the copy is not made again over it.
    { runId: 'r3', continuesRunId: 'r2', backup: { id: 'b-3' }, persisted: { id: 'b-3' }, resumed: true },
  ]);
  // A copy, not a share: what the later run wrote is not in the earlier run's data.
  assert.deepEqual(store.state.runData?.r1, { backup: { id: 'b-1' } });
  assert.deepEqual(store.state.runData?.r2, { backup: { id: 'b-1' }, 'upgrade-started': true });
});

test('a run that continues a run whose data is gone starts empty and says so in its log', async () => {
  const bus = new FakeBus();
  const seen: unknown[] = [];
  const driver: Driver = {
    name: 'simulate',
    run: async (ctx: StepContext) => {
      seen.push(ctx.runData.get('backup'));
      return { ok: true };
    },
  };
  const agent = testAgent(bus, driver);
  await agent.start();
  try {
    await bus.send(runStepContinuing('c1', 'r1', 'r-gone'));
    await until('the outcome of c1', () => bus.outcomes('c1')[0]);
  } finally {
    await agent.stop();
  }
  assert.deepEqual(seen, [undefined]);
  const logs = bus.events.filter((e) => e.name === 'logLine').map((e) => e.init.text);
  assert.ok(logs.includes('run r1 continues run r-gone, whose data this host no longer keeps'), JSON.stringify(logs));
});

test('the agent registers with its roles and facts digest, and again only when the digest changed', async () => {
  const bus = new FakeBus();
  let facts: RefreshedFacts = { roles: ['containers', 'Not A Role'], factsDigest: 'd1' };
  let reads = 0;
  const agent = testAgent(
    bus,
    { name: 'simulate', run: async () => ({ ok: true }) },
    {
      facts: async () => {
        reads++;
        if (reads === 1) throw new Error('dpkg status unreadable');
        return facts;
      },
      factsRefreshMs: 5,
    },
  );
  const registered = (): { roles?: string[]; factsDigest?: string }[] =>
    bus.registrations.map((r) => r.facts as { roles?: string[]; factsDigest?: string });
  await agent.start();
  try {
    // Facts that cannot be read at start: registered without them, then again once they are read.
    await until('the registration with digest d1', () => (registered().length === 2 ? true : undefined));
    assert.equal(registered()[0]?.factsDigest, undefined);
    assert.deepEqual(registered()[1], { ...identity.facts, bootId: 'boot', roles: ['containers'], factsDigest: 'd1' });
    // Unchanged facts, read several times more: no new registration.
    const readsThen = reads;
    await until('three more reads', () => (reads >= readsThen + 3 ? true : undefined));
    assert.equal(bus.registrations.length, 2);
    // The host's size travels with them (what the scheduler predicts durations from).
    const size = { packageCount: 300, installedBytes: 1e9, diskUsedBytes: 5e9 };
    facts = { roles: ['containers', 'libvirt'], factsDigest: 'd2', ...size };
    await until('the registration with digest d2', () => (registered().length === 3 ? true : undefined));
    assert.deepEqual(registered()[2], { ...identity.facts, bootId: 'boot', roles: ['containers', 'libvirt'], factsDigest: 'd2', ...size });
  } finally {
    await agent.stop();
  }
});

test("a precheck reads the host's facts first, registers again if they changed, and its report names the digest assessed", async () => {
  const bus = new FakeBus();
  let factsDigest = 'd1';
  const agent = testAgent(
    bus,
    { name: 'simulate', run: async () => ({ ok: true, report: { findings: [] } }) },
    {
      facts: async () => ({ roles: [], factsDigest }),
      factsRefreshMs: 0,
    },
  );
  await agent.start();
  try {
    await until('the registration', () => (bus.registrations.length === 1 ? true : undefined));
    factsDigest = 'd2';
    const cmd = runStep('c1', 'r1') as { action: { value: { step: Step } } };
    cmd.action.value.step = Step.PRECHECK;
    await bus.send(cmd as Partial<AgentCommand>);
    const outcome = await until('the outcome of c1', () => bus.outcomes('c1')[0]);
    assert.deepEqual(JSON.parse(outcome.reportJson as string), { findings: [], factsDigest: 'd2' });
    await until('the registration with d2', () => (bus.registrations.length === 2 ? true : undefined));
    assert.equal((bus.registrations[1]?.facts as { factsDigest?: string } | undefined)?.factsDigest, 'd2');
  } finally {
    await agent.stop();
  }
});

test("a report's own facts digest, or a report that is not an object, is left as the driver wrote it", () => {
  const failed = { ok: false, code: 'PRECHECK_INHIBITED', message: 'x', retryable: false, kind: 1 } as const;
  assert.deepEqual(withFactsDigest({ ok: true, report: { factsDigest: 'own' } }, 'd'), { ok: true, report: { factsDigest: 'own' } });
  assert.deepEqual(withFactsDigest({ ok: true }, 'd'), { ok: true });
  assert.deepEqual(withFactsDigest({ ...failed, report: { inhibitors: 1 } }, 'd'), {
    ...failed,
    report: { inhibitors: 1, factsDigest: 'd' },
  });
  assert.deepEqual(withFactsDigest({ ok: true, report: { a: 1 } }, undefined), { ok: true, report: { a: 1 } });
});

test("a step's events are in the command's trace; a heartbeat, even one sent as the step ends, is in none", async () => {
  const spans = recordSpans();
  const bus = new FakeBus();
  const agent = testAgent(bus, { name: 'simulate', run: async () => ({ ok: true }) });
  try {
    await agent.start();
    const traceId = await inSpan('dispatch upgrade', {}, async () => {
      await bus.send(runStep('c1', 'r1'));
      return currentTraceparent().split('-')[1];
    });
    await until('the outcome of c1', () => bus.outcomes('c1')[0]);
    await until('the heartbeat sent as c1 ended', () =>
      bus.events.find((e) => e.name === 'heartbeat' && (e.init.activity as { commandId?: string }).commandId === 'c1'),
    );
    const steps = bus.events.filter((e) => e.name === 'stepEvent');
    assert.ok(steps.length >= 2);
    for (const e of steps) assert.equal(e.traceparent.split('-')[1], traceId, `${String(e.init.phase)} in the command's trace`);
    const beats = bus.events.filter((e) => e.name === 'heartbeat');
    assert.ok(beats.length >= 2, 'one at start, one as the step ended');
    assert.deepEqual(
      beats.map((e) => e.traceparent),
      beats.map(() => ''),
    );
  } finally {
    await agent.stop();
    await spans.stop();
  }
});

test("a deposed scheduler leader's commands are refused once the agent has seen a later leader, even after a restart", async () => {
  const bus = new FakeBus();
  const { signals, driver } = runsUntilCancelled();
  const store = new MemoryStateStore();
  const withEpoch = (cmd: Partial<AgentCommand>, leaderEpoch: number): Partial<AgentCommand> => ({ ...cmd, leaderEpoch });
  const agent = testAgent(bus, driver, { store });
  await agent.start();
  try {
    assert.equal((await bus.send(withEpoch(runStep('c1', 'r1'), 9))).accepted, true);
    await until('run r1 to start', () => signals.get('r1'));
    assert.equal(store.state.leaderEpoch, 9, 'stored before the command was acknowledged');
    // The old leader, awake again, cancels what the new one runs: refused, nothing stops.
    const refused = await bus.send(withEpoch(cancel('c1.cancel', 'r1'), 5));
    assert.equal(refused.accepted, false);
    assert.match(refused.reason, /deposed scheduler leader \(epoch 5; epoch 9 leads\)/);
    assert.equal(signals.get('r1')?.aborted, false);
    // The leader's own cancel works.
    assert.equal((await bus.send(withEpoch(cancel('c1.cancel', 'r1'), 9))).accepted, true);
    await until('the outcome of c1', () => bus.outcomes('c1')[0]);
  } finally {
    await agent.stop();
  }
  // A restarted agent remembers the epoch: the old leader's new step is refused.
  const again = testAgent(bus, driver, { store });
  await again.start();
  try {
    assert.equal((await bus.send(withEpoch(runStep('c2', 'r2'), 5))).accepted, false);
    assert.equal(signals.has('r2'), false);
  } finally {
    await again.stop();
  }
});
