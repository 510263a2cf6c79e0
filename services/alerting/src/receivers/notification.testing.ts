// Notifications for the receivers' tests: a group of failed steps in one wave of one plan.
import type { Notification, NotifiedAlert } from '../model/alert.ts';

export const T0 = Date.parse('2026-12-06T12:00:00Z');

export function failedStep(i: number, over: Partial<NotifiedAlert> = {}): NotifiedAlert {
  const host = `host-${String(i).padStart(3, '0')}`;
  return {
    fingerprint: `fp${i.toString(16).padStart(14, '0')}`,
    labels: {
      alertname: 'StepFailed',
      severity: 'critical',
      plan: 'p1',
      wave: '2',
      host,
      step: 'upgrade',
      failure_code: 'RPM_TRANSACTION_FAILED',
    },
    annotations: {
      summary: `升级步骤失败: ${host}`,
      log_tail: Array.from({ length: 30 }, (_, k) => `[${k}] dnf: error: 依赖冲突 package-${k}`).join('\n'),
    },
    startsAt: T0 - 60_000,
    endsAt: null,
    link: `https://console.example/plans/p1/hosts/${host}/steps/upgrade`,
    status: 'firing',
    ...over,
  };
}

export function notification(alerts: NotifiedAlert[], over: Partial<Notification> = {}): Notification {
  return {
    id: 'ops|{}/{severity="critical"}:{plan="p1"}|3',
    receiver: 'ops',
    groupKey: '{}/{severity="critical"}:{plan="p1"}',
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    acknowledged: false,
    groupLabels: { plan: 'p1' },
    commonLabels: { alertname: 'StepFailed', severity: 'critical', plan: 'p1', wave: '2', step: 'upgrade' },
    commonAnnotations: {},
    alerts,
    truncatedAlerts: 0,
    externalUrl: 'https://console.example',
    at: T0,
    ...over,
  };
}
