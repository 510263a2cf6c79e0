// Alerts pushed through the API (Prometheus's alerting.alertmanagers) into the same store
// the rules write: from there the dispatcher groups, routes, silences, inhibits and
// delivers them like any other alert, once however many replicas were sent each one.
// Prometheus sends every batch to every replica; each applies it, and every write is one
// a repeat leaves as it is ($max on the times). Every replica also resolves the pushed
// alerts nobody sent again before their endsAt: the same update whichever makes it.
import type { Logger } from '@yixing/common';
import { PostedAlertsInvalidError } from '../api/api-errors.ts';
import type { AlertingMetrics } from '../metrics.ts';
import type { AlertStore } from '../store/alert.store.ts';
import { changesOfPostedAlerts, type PostableAlert } from './postable-alerts.ts';

export interface AlertIntakeDeps {
  alerts: AlertStore;
  metrics: AlertingMetrics;
  log: Logger;
  clock: () => number;
  /** An alert sent without endsAt resolves this long after it was last sent. */
  resolveTimeoutMs: number;
}

/** What one request did. */
export interface IntakeResult {
  firing: number;
  resolved: number;
}

export class AlertIntake {
  readonly #d: AlertIntakeDeps;

  constructor(deps: AlertIntakeDeps) {
    this.#d = deps;
  }

  /** Applies a request's alerts as sent by `by`; throws PostedAlertsInvalidError, having applied none, if one is invalid. */
  async take(posted: readonly PostableAlert[], by: string): Promise<IntakeResult> {
    const { alerts, metrics, clock, resolveTimeoutMs } = this.#d;
    const now = clock();
    const { changes, problems } = changesOfPostedAlerts(posted, now, resolveTimeoutMs);
    if (problems.length > 0) {
      metrics.events.inc({ source: 'pushed', outcome: 'invalid' }, posted.length);
      throw new PostedAlertsInvalidError(problems);
    }
    const result: IntakeResult = { firing: 0, resolved: 0 };
    for (const c of changes) {
      if (c.op === 'resolve') {
        await alerts.resolveAt(c.fingerprint, now, by);
        result.resolved++;
        continue;
      }
      // Fired as of its arrival: each send keeps it firing, and the latest send or resolve wins.
      await alerts.fire({
        fingerprint: c.fingerprint,
        labels: c.labels,
        annotations: c.annotations,
        path: '/',
        at: now,
        startsAt: c.startsAt,
        expiresAt: c.expiresAt,
        generatorUrl: c.generatorUrl,
      });
      result.firing++;
    }
    metrics.events.inc({ source: 'pushed', outcome: 'applied' }, changes.length);
    return result;
  }

  /** Resolves the pushed alerts whose endsAt passed without a new send. */
  async expire(): Promise<void> {
    const expired = await this.#d.alerts.expireDue(this.#d.clock());
    if (expired.length > 0) this.#d.log.info({ fingerprints: expired }, 'pushed alerts expired (not sent again before their endsAt)');
  }
}
