// A notification's delivery to one receiver as a span: from queued to delivered, given
// up, superseded or left to another replica, with the attempts it took. A grouped
// notification carries the alerts of several runs, each fired in its run's trace, so the
// delivery starts a trace of its own linked to theirs (span links, not a parent).
import { startSpan, type TraceSpan } from '@yixing/common';
import type { Notification } from '../model/alert.ts';

export type DeliveryOutcome = 'delivered' | 'abandoned' | 'superseded' | 'left';

export interface DeliverySpan {
  /** One attempt's span, a child of the delivery's; ended with the attempt's error, if any. */
  attempt(n: number): { end(failure?: string): void };
  /** Ends the delivery: its outcome and the attempts made; an error when given up. */
  end(outcome: DeliveryOutcome, attempts: number, failure?: string): void;
}

export function deliverySpan(n: Notification): DeliverySpan {
  const span: TraceSpan = startSpan('alert deliver', {
    parent: '',
    kind: 'producer',
    links: [...new Set(n.alerts.map((a) => a.traceparent ?? ''))],
    attributes: {
      'yx.receiver': n.receiver,
      'yx.notification': n.id,
      'yx.group': n.groupKey,
      'yx.status': n.status,
      'yx.alerts': n.alerts.length,
    },
  });
  return {
    attempt: (attempt) => startSpan('alert deliver attempt', { parent: span.traceparent, attributes: { 'yx.attempt': attempt } }),
    end: (outcome, attempts, failure) => {
      span.set({ 'yx.outcome': outcome, 'yx.attempts': attempts });
      span.end(outcome === 'abandoned' ? (failure ?? outcome) : undefined);
    },
  };
}
