// One trace per host-run: the scheduler, a simulated fleet (the real agent protocol code),
// the backup service and the alerting service export spans over OTLP/HTTP (JSON) to a
// receiver in this test. For every host-run, the scheduler's dispatches, the agent's
// steps, the backup service's verification, alerting's evaluation of the run's events and
// the run's end share the run's trace id, each span's parent is in the trace, and after
// the scheduler is SIGKILLed mid-run and started again, the steps it dispatches next still
// land in the same trace. One host's postcheck fails: its alert is evaluated in its run's
// trace and the notification's delivery, a trace of its own, links to it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type CaptureServer, startCaptureServer } from '@yixing/alerting/internal';
import type { PlanView } from '@yixing/scheduler/internal';
import { startAlerting } from '../fixtures/alerting.ts';
import { spawnBackupService } from '../fixtures/backup-service.ts';
import { loadPlan } from '../fixtures/history.ts';
import { type CollectedSpan, type OtlpReceiver, startOtlpReceiver } from '../fixtures/otlp-receiver.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

let receiver: OtlpReceiver;
let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
const procs: ServiceProcess[] = [];
let otelEnv: Record<string, string>;
let webhook: CaptureServer;
/** Its postcheck fails (not retried): the run rolls back and fails, and a StepFailed alert fires. */
const FAILING = 'trc-1';

before(async () => {
  receiver = await startOtlpReceiver();
  otelEnv = receiver.env;
  stack = await startStack('tracing');
  procs.push((await spawnBackupService(stack, otelEnv)).proc);
  webhook = await startCaptureServer({ status: 200, body: '' });
  const alerting = await startAlerting(
    stack,
    {
      route: { receiver: 'oncall', group_by: ['plan', 'alertname'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
      receivers: [{ name: 'oncall', webhook_configs: [{ url: `${webhook.base}/hook` }] }],
    },
    'alerting',
    otelEnv,
  );
  procs.push(alerting.proc);
  scheduler = await startScheduler(stack, otelEnv, 'scheduler-0');
  procs.push(
    await startFleet(stack, {
      size: 3,
      // A cluster each: a cluster's hosts migrate one at a time (its quorum), these side by side.
      clusters: 3,
      pool: 'traced',
      prefix: 'trc',
      backups: 'service',
      env: otelEnv,
      // A long upgrade: the scheduler is killed while all three hosts are in it.
      sim: {
        durations: { 'cluster-check': 20, precheck: 50, backup: 50, upgrade: 4000, reboot: 50, postcheck: 50, rollback: 50 },
        failures: [{ step: 'postcheck', hosts: [FAILING] }],
      },
    }),
  );
  await waitForHosts(scheduler.api, 3);
});

after(async () => {
  for (const p of procs.reverse()) await p.kill('SIGTERM');
  await scheduler?.proc.kill('SIGTERM');
  await stack?.stop();
  await webhook?.close();
  await receiver?.close();
});

const traceIdOf = (traceparent: string | undefined): string => (traceparent ?? '').split('-')[1] ?? '';
const spanIdOf = (traceparent: string | undefined): string => (traceparent ?? '').split('-')[2] ?? '';

test('each host-run is one trace across scheduler, agent, backup and alerting services, across a scheduler restart', async () => {
  const { spans, badBodies } = receiver;
  const plan = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', {
    name: 'traced',
    selector: { pool: 'traced' },
    profile: 'debian-11-to-12',
    // The canary is the whole plan: the three hosts run side by side.
    canary: { count: 3 },
    promotion: { mode: 'auto', soakSeconds: 0 },
    waves: [],
    limits: { maxInFlight: 3, perCluster: { count: 3 } },
    errorBudget: { plan: { count: 3 } },
    onFailure: 'rollback',
    steps: { retries: { 'cluster-check': 0, precheck: 0, backup: 0, upgrade: 0, reboot: 0, postcheck: 0, rollback: 0 } },
  });

  // Kill when every host runs its upgrade and the receiver holds each upgrade's dispatch:
  // nothing the agents or the backup service sent refers to a span the kill loses.
  const inUpgrade = await waitUntil(
    async () => {
      const { runs } = await loadPlan(stack.db, plan.id);
      const upgrading = runs.filter((r) => r.step === 'upgrade');
      const dispatched = upgrading.filter((r) =>
        spans.some((s) => s.name === 'dispatch upgrade' && s.traceId === traceIdOf(r.traceparent) && s.service === 'yx-scheduler'),
      );
      return {
        done: runs.length === 3 && dispatched.length === 3,
        value: runs,
        state: `${upgrading.length} upgrading, ${dispatched.length} seen, ${[...new Set(spans.map((s) => `${s.service}:${s.name}`))].join(',')}: ${runs.map((r) => `${r.step}/${r.stepState}/${r.traceparent}`).join(' ')}`,
      };
    },
    { what: 'all three hosts in their upgrade, its dispatch exported' },
  );
  const killedAtNs = BigInt(Date.now()) * 1_000_000n;
  assert.equal(await scheduler.proc.kill('SIGKILL'), 'SIGKILL');
  scheduler = await startScheduler(stack, otelEnv, 'scheduler-1');

  const done = await waitUntil(
    async () => {
      const p = await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${plan.id}`);
      return { done: p.state === 'completed', value: p, state: `${p.state} ${p.percentDone}` };
    },
    { what: 'the plan to complete after the restart' },
  );
  assert.equal(done.counters.succeeded, 2);
  assert.equal(done.counters.failed, 1);
  const { runs } = await loadPlan(stack.db, plan.id);

  // Every step the runs went through, from both schedulers, reaches the receiver; so do
  // each run's end, alerting's evaluation of its events, and the failed one's notification.
  const expected = (r: (typeof runs)[number]) => r.history.map((h) => `step ${h.step}`);
  const failingTrace = traceIdOf(runs.find((r) => r.hostId === FAILING)?.traceparent);
  const delivered = (s: CollectedSpan) =>
    s.name === 'alert deliver' && s.links.includes(failingTrace) && s.attributes['yx.outcome'] === 'delivered';
  await waitUntil(
    async () => {
      const missing = runs.flatMap((r) =>
        [...expected(r), 'host-run end', 'alert evaluate', 'backup verify']
          .filter((name) => !spans.some((s) => s.traceId === traceIdOf(r.traceparent) && s.name === name))
          .map((name) => `${r.hostId}: ${name}`),
      );
      if (!spans.some(delivered)) missing.push(`the delivery of ${FAILING}'s alert`);
      return { done: missing.length === 0, value: missing, state: missing.join(', ') };
    },
    { what: "every agent step's span, each run's end, evaluation and verification, and the failed run's delivery exported" },
  );

  assert.deepEqual(badBodies, [], 'every export is an OTLP/HTTP JSON POST to /v1/traces');
  const traceIds = runs.map((r) => traceIdOf(r.traceparent));
  assert.equal(new Set(traceIds).size, 3, `one trace per host-run: ${traceIds.join(', ')}`);
  for (const run of runs) {
    const traceId = traceIdOf(run.traceparent);
    assert.match(traceId, /^[0-9a-f]{32}$/, `${run.hostId} stored its trace (${run.traceparent})`);
    assert.equal(
      inUpgrade.find((r) => r._id === run._id)?.traceparent,
      run.traceparent,
      `${run.hostId}: the restarted scheduler kept the run's trace`,
    );
    const trace = spans.filter((s) => s.traceId === traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const parentOf = (s: CollectedSpan) => byId.get(s.parentSpanId);
    const where = (s: CollectedSpan) => `${run.hostId}: ${s.service} "${s.name}"`;

    // The run's first span is the scheduler's `host-run`, the trace's only root.
    const root = byId.get(spanIdOf(run.traceparent));
    assert.equal(root?.name, 'host-run', `${run.hostId}: the stored traceparent names the host-run span`);
    assert.equal(root?.service, 'yx-scheduler');
    assert.deepEqual(
      trace.filter((s) => !s.parentSpanId).map((s) => s.name),
      ['host-run'],
      `${run.hostId}: one root`,
    );
    // Every other span's parent is in the trace: no link is broken, across services or the restart.
    for (const s of trace) if (s !== root) assert.ok(parentOf(s), `${where(s)} has its parent ${s.parentSpanId} in the trace`);

    // Dispatches hang under the run; each agent step under the dispatch that asked for it.
    const dispatches = trace.filter((s) => s.name.startsWith('dispatch '));
    for (const d of dispatches) assert.equal(parentOf(d), root, `${where(d)} is a child of the run's span`);
    const steps = trace.filter((s) => s.service === 'yx-agent' && s.name.startsWith('step '));
    assert.deepEqual(
      [...new Set(steps.map((s) => s.name))].sort(),
      [...new Set(expected(run))].sort(),
      `${run.hostId}: a span for each of its steps`,
    );
    for (const s of steps) {
      const received = parentOf(s);
      assert.equal(received?.name, 'agentCommand receive', `${where(s)} continues the command's context`);
      assert.equal(received?.service, 'yx-agent');
      assert.equal(
        parentOf(received as CollectedSpan)?.name,
        s.name.replace('step ', 'dispatch '),
        `${where(s)}: asked for by its dispatch`,
      );
    }

    // The backup service's handling of this host's backup is in the run's trace, under the
    // agent's backup step (the restore a rollback asks for, under its rollback step).
    const backup = trace.filter((s) => s.service === 'yx-backup');
    assert.ok(backup.length > 0, `${run.hostId}: the backup service's spans are in the run's trace`);
    const stepOf = (name: string) => steps.find((s) => s.name === name);
    for (const b of backup) {
      let top: CollectedSpan = b;
      while (parentOf(top)?.service === 'yx-backup') top = parentOf(top) as CollectedSpan;
      const asker = /^restore/.test(top.name) ? 'step rollback' : 'step backup';
      assert.equal(parentOf(top), stepOf(asker), `${where(b)} descends from the agent's ${asker}`);
    }

    // The backup service verified the upload as it arrived, under the slot's receipt: the
    // pieces read and stored in one pass, then what the store recorded.
    const verify = backup.find((b) => b.name === 'backup verify') as CollectedSpan;
    assert.equal(parentOf(verify)?.name, 'backupSlotRequest receive', `${where(verify)} under the slot's receipt`);
    assert.equal(verify.attributes['yx.backup.state'], 'verified');
    // Its phases, in order (the verified event it publishes and its database calls hang there too).
    const phases = trace
      .filter((s) => parentOf(s) === verify && s.name.startsWith('backup '))
      .sort((x, y) => Number(x.startNs - y.startNs));
    assert.deepEqual(
      phases.map((s) => s.name),
      ['backup upload', 'backup store'],
      `${run.hostId}: the verification's phases`,
    );

    // The run's end: one span under its first, saying how it ended.
    const ends = trace.filter((s) => s.name === 'host-run end');
    assert.equal(ends.length, 1, `${run.hostId}: one end`);
    assert.equal(parentOf(ends[0] as CollectedSpan), root, `${run.hostId}: the end is a child of the run's span`);
    assert.equal(ends[0]?.attributes['yx.outcome'], run.state);

    // Alerting evaluated the run's events (the scheduler's, and the backup service's about
    // its backup) in its trace, each under the event's receipt.
    const evaluations = trace.filter((s) => s.name === 'alert evaluate');
    for (const e of evaluations) {
      assert.equal(e.service, 'yx-alerting');
      assert.match(parentOf(e)?.name ?? '', /^(hostRunEvent|backupEvent) receive$/, `${where(e)} under the receipt of the run's event`);
    }
    assert.ok(
      evaluations.some((e) => parentOf(e)?.name === 'hostRunEvent receive' && e.attributes['yx.event'] === 'hostrun'),
      `${run.hostId}: the scheduler's events about the run evaluated in its trace`,
    );
    const fired = evaluations.filter((e) => e.attributes['yx.alerts.fired'] === '1').map((e) => e.attributes['yx.run']);
    assert.deepEqual(fired, run.hostId === FAILING ? [run.runId] : [], `${run.hostId}: the alerts its events raised`);

    // After the restart: the new scheduler dispatched the later steps into the same trace.
    const later = dispatches.filter((d) => d.startNs > killedAtNs).map((d) => d.name);
    for (const step of ['reboot', 'postcheck']) {
      assert.ok(
        later.includes(`dispatch ${step}`),
        `${run.hostId}: ${step} dispatched after the restart, in the run's trace (${later.join(', ')})`,
      );
    }
  }

  // The failed run's alert reached the webhook; its delivery is a trace of its own linked to the run's.
  const delivery = spans.find(delivered) as CollectedSpan;
  assert.equal(delivery.service, 'yx-alerting');
  assert.equal(delivery.parentSpanId, '', 'the delivery starts its own trace');
  assert.equal(delivery.attributes['yx.receiver'], 'oncall');
  assert.ok(Number(delivery.attributes['yx.attempts']) >= 1);
  assert.ok(
    webhook.requests.some((r) => r.body.includes(FAILING)),
    `the webhook was told about ${FAILING}`,
  );
});
