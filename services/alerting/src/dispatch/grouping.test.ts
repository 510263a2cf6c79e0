import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadRoutingConfig } from '../config/routing-config.ts';
import { fingerprint } from '../engine/fingerprint.ts';
import { parseMatchers } from '../engine/matchers.ts';
import type { Silence } from '../engine/silences.ts';
import type { LabelSet } from '../model/alert.ts';
import { type AlertState, groupAlerts, notificationOf } from './grouping.ts';

const config = loadRoutingConfig(
  {
    route: {
      receiver: 'ops',
      group_by: ['plan', 'wave', 'alertname'],
      routes: [
        { matchers: ['severity="critical"'], receiver: 'pager', continue: true },
        { matchers: ['plan=~".+"'], receiver: 'ops' },
      ],
    },
    inhibit_rules: [
      { source_matchers: ['alertname="ErrorBudgetExhausted"'], target_matchers: ['alertname="StepFailed"'], equal: ['plan'] },
    ],
  },
  ['ops', 'pager'],
);

const alert = (labels: LabelSet, over: Partial<AlertState> = {}): AlertState => ({
  alert: {
    fingerprint: fingerprint(labels),
    labels,
    annotations: { summary: `${labels.host} failed` },
    startsAt: 1_000,
    endsAt: null,
    link: 'http://console/x',
  },
  status: 'firing',
  acknowledged: false,
  ...over,
});
const failed = (host: string, plan = 'p1') =>
  alert({ alertname: 'StepFailed', severity: 'warning', plan, wave: '2', host, step: 'upgrade' });
const input = (alerts: AlertState[], silences: Silence[] = [], now = 10_000) => ({
  alerts,
  tree: config.route,
  silences,
  inhibitRules: config.inhibitRules,
  now,
});

describe('groupAlerts', () => {
  it('200 hosts failing in one wave are one group for the receiver', () => {
    const alerts = Array.from({ length: 200 }, (_, i) => failed(`h${i}`));
    const groups = groupAlerts(input(alerts));
    assert.equal(groups.size, 1);
    const [group] = groups.values();
    assert.equal(group?.receiver, 'ops');
    assert.deepEqual(group?.groupLabels, { alertname: 'StepFailed', plan: 'p1', wave: '2' });
    assert.equal(group?.alerts.length, 200);
  });

  it('another plan is another group; a critical alert reaches the pager and, with continue, the ops channel too', () => {
    const lost = alert({ alertname: 'AgentLost', severity: 'critical', plan: 'p1', wave: '2', host: 'h9' });
    const groups = groupAlerts(input([failed('h1'), failed('h2', 'p2'), lost]));
    assert.deepEqual([...groups.values()].map((g) => g.receiver).sort(), ['ops', 'ops', 'ops', 'pager']);
  });

  it('a silenced alert is muted while the silence runs, and says when it was unmuted after', () => {
    const silence: Silence = { id: 's1', matchers: parseMatchers('host="h1"'), startsAt: 0, endsAt: 20_000, createdBy: 'a', comment: '' };
    const during = [...groupAlerts(input([failed('h1'), failed('h2')], [silence], 10_000)).values()][0]?.alerts;
    assert.deepEqual(
      during?.map((a) => [a.alert.labels.host, a.muted]),
      [
        ['h1', true],
        ['h2', false],
      ],
    );
    const after = [...groupAlerts(input([failed('h1')], [silence], 30_000)).values()][0]?.alerts[0];
    assert.equal(after?.muted, false);
    assert.equal(after?.unmutedAt, 20_000);
  });

  it('a plan whose budget is exhausted inhibits its hosts’ step alerts, not another plan’s', () => {
    const budget = alert({ alertname: 'ErrorBudgetExhausted', severity: 'critical', plan: 'p1', wave: '2' });
    const groups = groupAlerts(input([budget, failed('h1'), failed('h2', 'p2')]));
    const muted = [...groups.values()].flatMap((g) => g.alerts.filter((a) => a.muted).map((a) => a.alert.labels.plan));
    assert.deepEqual(muted, ['p1']);
  });
});

describe('groupAlerts: a failed cluster check', () => {
  it('inhibits the other alerts of its cluster in its plan, as the example configuration says', () => {
    const { inhibitRules } = loadRoutingConfig(
      {
        route: { receiver: 'ops' },
        inhibit_rules: [
          {
            source_matchers: ['alertname=~"StepFailed|HostStuck"', 'step="cluster-check"'],
            target_matchers: ['step!="cluster-check"'],
            equal: ['plan', 'cluster'],
          },
        ],
      },
      ['ops'],
    );
    const host = (h: string, cluster: string, step: string) =>
      alert({ alertname: 'StepFailed', severity: 'warning', plan: 'p1', host: h, cluster, step });
    const alerts = [host('h1', 'c1', 'cluster-check'), host('h2', 'c1', 'upgrade'), host('h3', 'c2', 'upgrade')];
    const [group] = groupAlerts({ alerts, tree: config.route, silences: [], inhibitRules, now: 10_000 }).values();
    assert.deepEqual(
      group?.alerts.map((a) => [a.alert.labels.host, a.muted]),
      [
        ['h1', false],
        ['h2', true],
        ['h3', false],
      ],
    );
  });
});

describe('notificationOf', () => {
  it('carries the firing and resolved alerts asked for, the common labels and a per-flush id', () => {
    const a = failed('h1');
    const b = { ...failed('h2'), status: 'resolved' as const };
    const [group] = groupAlerts(input([a, b])).values();
    assert.ok(group);
    const n = notificationOf(
      group,
      { firing: [a.alert.fingerprint], resolved: [b.alert.fingerprint], acknowledged: false, seq: 3 },
      'http://console',
      50,
    );
    assert.equal(n.id, `ops|${group.groupKey}|3`);
    assert.equal(n.status, 'firing');
    assert.deepEqual(
      n.alerts.map((x) => [x.labels.host, x.status]),
      [
        ['h1', 'firing'],
        ['h2', 'resolved'],
      ],
    );
    assert.deepEqual(n.commonLabels, { alertname: 'StepFailed', severity: 'warning', plan: 'p1', wave: '2', step: 'upgrade' });
    assert.deepEqual(n.commonAnnotations, {});
  });
});
