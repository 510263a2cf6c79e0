// The scheduler's Prometheus metrics, registered on the service's own registry. Labels are
// bounded: a live plan's id (plans end and are compacted), a step, a profile of the
// catalog, a state; never a host. infra/prometheus/rules and dashboards/ query them.
import { Counter, catalog, Gauge, Histogram, type Registry } from '@yixing/common';

export interface SchedulerMetrics {
  tickSeconds: Histogram;
  hostsTaken: Counter;
  commandsSent: Counter<'step'>;
  stepOutcomes: Counter<'step' | 'outcome'>;
  runsFinished: Counter<'state' | 'rollback'>;
  eventsApplied: Counter;
  eventsRefused: Counter<'route' | 'reason'>;
  operationCallbacks: Counter<'result'>;
  /** From the agent's start of a step to the scheduler applying its outcome. */
  stepSeconds: Histogram<'profile' | 'step' | 'outcome'>;
  /** From a command sent to the agent's word that it started the step. */
  dispatchSeconds: Histogram<'step'>;
  /** From an agent's step event (its atMs) to the scheduler applying it. */
  eventLagSeconds: Histogram;
  heartbeatsReceived: Counter;
  /** Heartbeats a host numbered but that never arrived (gaps in its sequence). */
  heartbeatsMissed: Counter;
}

/** What the metrics read of a live plan when scraped. */
export interface PlanGauges {
  id: string;
  inFlight: number;
  failures: number;
  /** Failures the plan's error budget allows. */
  budget: number;
  state: string;
  /** Its hosts by run state. */
  hosts: Record<(typeof HOST_STATES)[number], number>;
  /** Hosts counted against the budget, by how they failed. */
  failuresByKind: { execution: number; timeout: number; unreachable: number };
  /** Each wave (canary first): its name, hosts and hosts started. */
  waves: { name: string; size: number; started: number }[];
}

export const HOST_STATES = ['pending', 'active', 'held', 'succeeded', 'failed', 'excluded'] as const;

/** Heartbeats lost between two of a host's sequence numbers (0 after a restart renumbered them). */
export function missedBetween(previousSeq: number | undefined, seq: number): number {
  if (previousSeq === undefined || seq <= previousSeq) return 0;
  return seq - previousSeq - 1;
}

export function createSchedulerMetrics(registry: Registry, plans: () => Iterable<PlanGauges>): SchedulerMetrics {
  new Gauge({
    name: 'yx_plan_hosts_in_flight',
    help: 'Hosts of a live plan occupying a slot (active or held)',
    labelNames: ['plan'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of plans()) this.set({ plan: p.id }, p.inFlight);
    },
  });
  new Gauge({
    name: 'yx_plan_failures',
    help: 'Hosts of a live plan counted against its error budget',
    labelNames: ['plan'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of plans()) this.set({ plan: p.id }, p.failures);
    },
  });
  new Gauge({
    name: 'yx_plan_error_budget',
    help: 'Failures the error budget of a live plan allows',
    labelNames: ['plan'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of plans()) this.set({ plan: p.id }, p.budget);
    },
  });
  new Gauge({
    name: 'yx_plan_hosts',
    help: 'Hosts of a live plan by run state (pending, active, held, succeeded, failed, excluded)',
    labelNames: ['plan', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of plans()) for (const state of HOST_STATES) this.set({ plan: p.id, state }, p.hosts[state]);
    },
  });
  new Gauge({
    name: 'yx_plan_failed_hosts',
    help: 'Hosts of a live plan counted against its error budget, by kind of failure (execution, timeout, unreachable)',
    labelNames: ['plan', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of plans()) for (const [kind, n] of Object.entries(p.failuresByKind)) this.set({ plan: p.id, kind }, n);
    },
  });
  new Gauge({
    name: 'yx_plan_running',
    help: 'Live plans by plan state (running, paused, waiting-approval, budget-exhausted, aborting)',
    labelNames: ['plan', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of plans()) this.set({ plan: p.id, state: p.state }, 1);
    },
  });
  const waveGauge = (name: string, help: string, read: (w: PlanGauges['waves'][number]) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['plan', 'wave'],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of plans()) for (const w of p.waves) this.set({ plan: p.id, wave: w.name }, read(w));
      },
    });
  };
  waveGauge('yx_plan_wave_hosts', 'Hosts of a wave of a live plan', (w) => w.size);
  waveGauge('yx_plan_wave_hosts_started', 'Hosts of a wave of a live plan that were taken into a slot', (w) => w.started);
  return {
    stepSeconds: new Histogram({
      name: 'yx_step_duration_seconds',
      help: 'From the agent starting a step to the scheduler applying its outcome, by profile, step and outcome',
      labelNames: ['profile', 'step', 'outcome'],
      buckets: [0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600],
      registers: [registry],
    }),
    dispatchSeconds: new Histogram({
      name: 'yx_scheduler_dispatch_seconds',
      help: "From a step's command sent to the agent's word that it started, by step (redeliveries included)",
      labelNames: ['step'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
      registers: [registry],
    }),
    eventLagSeconds: new Histogram({
      name: 'yx_scheduler_event_lag_seconds',
      help: `From an agent's step event to the scheduler applying it (${catalog.stepEvent.stream}; the agent's clock)`,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers: [registry],
    }),
    heartbeatsReceived: new Counter({
      name: 'yx_scheduler_heartbeats_received_total',
      help: 'Agent heartbeats received',
      registers: [registry],
    }),
    heartbeatsMissed: new Counter({
      name: 'yx_scheduler_heartbeats_missed_total',
      help: "Agent heartbeats never received: gaps in a host's heartbeat sequence numbers",
      registers: [registry],
    }),
    tickSeconds: new Histogram({
      name: 'yx_scheduler_tick_seconds',
      help: 'Duration of one reconciliation pass over the live plans',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    hostsTaken: new Counter({ name: 'yx_scheduler_hosts_taken_total', help: 'Hosts taken into a migration slot', registers: [registry] }),
    commandsSent: new Counter({
      name: 'yx_scheduler_commands_sent_total',
      help: 'Commands sent to agents',
      labelNames: ['step'],
      registers: [registry],
    }),
    stepOutcomes: new Counter({
      name: 'yx_scheduler_step_outcomes_total',
      help: 'Step outcomes reported by agents',
      labelNames: ['step', 'outcome'],
      registers: [registry],
    }),
    runsFinished: new Counter({
      name: 'yx_scheduler_runs_finished_total',
      help: 'Host runs that reached a final state',
      labelNames: ['state', 'rollback'],
      registers: [registry],
    }),
    eventsApplied: new Counter({
      name: 'yx_scheduler_events_applied_total',
      help: `Step events consumed from ${catalog.stepEvent.stream}`,
      registers: [registry],
    }),
    operationCallbacks: new Counter({
      name: 'yx_scheduler_operation_callbacks_total',
      help: 'Operation callback attempts by result: delivered, retried, given-up',
      labelNames: ['result'],
      registers: [registry],
    }),
    eventsRefused: new Counter({
      name: 'yx_scheduler_events_refused_total',
      help: 'Events dropped unapplied because their sender may not speak for the run (another host)',
      labelNames: ['route', 'reason'],
      registers: [registry],
    }),
  };
}
