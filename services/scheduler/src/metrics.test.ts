import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRegistry } from '@yixing/common';
import { createSchedulerMetrics, missedBetween, type PlanGauges } from './metrics.ts';

test('heartbeats missed are the gaps in a host’s sequence numbers; a restart that renumbers them misses none', () => {
  assert.equal(missedBetween(undefined, 7), 0, 'the first one heard');
  assert.equal(missedBetween(7, 8), 0);
  assert.equal(missedBetween(7, 11), 3);
  assert.equal(missedBetween(7, 7), 0, 'a duplicate');
  assert.equal(missedBetween(900, 1), 0, 'the agent restarted');
});

test('a live plan exports its hosts by state, its waves, its budget and its state; never a host', async () => {
  const registry = createRegistry('scheduler', { processMetrics: false });
  const plan: PlanGauges = {
    id: 'p1',
    inFlight: 2,
    failures: 1,
    budget: 3,
    state: 'running',
    hosts: { pending: 5, active: 2, held: 0, succeeded: 3, failed: 1, excluded: 0 },
    failuresByKind: { execution: 1, timeout: 0, unreachable: 0 },
    waves: [
      { name: 'canary', size: 1, started: 1 },
      { name: 'wave-1', size: 10, started: 5 },
    ],
  };
  const metrics = createSchedulerMetrics(registry, () => [plan]);
  metrics.stepSeconds.observe({ profile: 'centos-7-to-openeuler-22.03', step: 'upgrade', outcome: 'succeeded' }, 12);
  const text = await registry.metrics();
  assert.match(text, /^yx_plan_hosts\{plan="p1",state="pending",service="scheduler"\} 5$/m);
  assert.match(text, /^yx_plan_hosts\{plan="p1",state="failed",service="scheduler"\} 1$/m);
  assert.match(text, /^yx_plan_failed_hosts\{plan="p1",kind="execution",service="scheduler"\} 1$/m);
  assert.match(text, /^yx_plan_error_budget\{plan="p1",service="scheduler"\} 3$/m);
  assert.match(text, /^yx_plan_running\{plan="p1",state="running",service="scheduler"\} 1$/m);
  assert.match(text, /^yx_plan_wave_hosts_started\{plan="p1",wave="wave-1",service="scheduler"\} 5$/m);
  assert.match(
    text,
    /^yx_step_duration_seconds_count\{[^}]*profile="centos-7-to-openeuler-22.03",step="upgrade",outcome="succeeded"\} 1$/m,
  );
  assert.match(text, /^yx_scheduler_heartbeats_missed_total\{service="scheduler"\} 0$/m, 'exported at 0 before any loss');
  assert.doesNotMatch(text, /[{,]host(_?id)?="/, 'no host label');
});
