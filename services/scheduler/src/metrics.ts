// The scheduler's Prometheus metrics, registered on the service's own registry.
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
}

export function createSchedulerMetrics(
  registry: Registry,
  plans: () => Iterable<{ id: string; inFlight: number; failures: number; state: string }>,
): SchedulerMetrics {
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
  return {
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
