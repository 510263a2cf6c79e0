import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMatchers } from './matchers.ts';
import {
  allRoutes,
  buildRouteTree,
  DEFAULT_TIMERS,
  groupKey,
  groupLabels,
  labelsString,
  type RouteSpec,
  route,
  routeAt,
} from './routing.ts';

const m = parseMatchers;
const spec: RouteSpec = {
  receiver: 'default',
  groupBy: ['plan', 'wave'],
  routes: [
    {
      matchers: m('severity="critical"'),
      receiver: 'pager',
      groupWaitMs: 10_000,
      continue: true,
      routes: [{ matchers: m('step="rollback"'), receiver: 'pager-rollback', groupBy: ['...'] }],
    },
    { matchers: m('{team="db", severity=~"critical|warning"}'), receiver: 'db-chat', repeatIntervalMs: 3_600_000 },
    { matchers: m('team="db"'), receiver: 'db-mail' },
    { matchers: m('severity="critical"'), receiver: 'audit' },
  ],
};
const tree = buildRouteTree(spec);
const receivers = (labels: Record<string, string>) => route(tree, labels).map((r) => r.receiver);

test('children inherit receiver, group_by and timers; own settings win', () => {
  const [critical, dbChat] = tree.routes;
  assert.deepEqual(tree.timers, DEFAULT_TIMERS);
  assert.deepEqual(critical!.groupBy, ['plan', 'wave']);
  assert.deepEqual(critical!.timers, { ...DEFAULT_TIMERS, groupWaitMs: 10_000 });
  const rollback = critical!.routes[0]!;
  assert.equal(rollback.groupByAll, true);
  assert.deepEqual(rollback.timers.groupWaitMs, 10_000, 'inherited from the parent, not the root');
  assert.deepEqual(dbChat!.timers, { ...DEFAULT_TIMERS, repeatIntervalMs: 3_600_000 });
  assert.equal(buildRouteTree({ receiver: 'r', routes: [{ matchers: m('a="b"') }] }).routes[0]!.receiver, 'r');
});

test('the first matching sibling stops the search unless it continues; the deepest match wins', () => {
  assert.deepEqual(receivers({ severity: 'critical' }), ['pager', 'audit'], 'critical continues to audit');
  assert.deepEqual(receivers({ severity: 'critical', step: 'rollback' }), ['pager-rollback', 'audit']);
  assert.deepEqual(receivers({ severity: 'warning', team: 'db' }), ['db-chat'], 'db-chat does not continue: db-mail is not reached');
  assert.deepEqual(receivers({ severity: 'info', team: 'db' }), ['db-mail']);
  assert.deepEqual(receivers({ severity: 'critical', team: 'db' }), ['pager', 'db-chat']);
  assert.deepEqual(receivers({ severity: 'info' }), ['default'], 'no child matches: the root takes it');
  assert.deepEqual(receivers({}), ['default']);
});

test("route keys and ids are Alertmanager's: matchers sorted, ids with the route's index among its siblings", () => {
  const ids = allRoutes(tree).map((r) => [r.key, r.id, r.path.join('.')]);
  assert.deepEqual(ids, [
    ['{}', '{}', ''],
    ['{}/{severity="critical"}', '{}/{severity="critical"}/0', '0'],
    ['{}/{severity="critical"}/{step="rollback"}', '{}/{severity="critical"}/{step="rollback"}/0', '0.0'],
    ['{}/{severity=~"critical|warning",team="db"}', '{}/{severity=~"critical|warning",team="db"}/1', '1'],
    ['{}/{team="db"}', '{}/{team="db"}/2', '2'],
    ['{}/{severity="critical"}', '{}/{severity="critical"}/3', '3'],
  ]);
  assert.equal(new Set(allRoutes(tree).map((r) => r.id)).size, 6, 'ids are unique even where keys repeat');
});

test('group labels: the group_by labels the alert has; ... takes them all', () => {
  const [critical] = tree.routes;
  const labels = { plan: 'p1', wave: '2', host: 'h7', severity: 'critical', step: 'rollback', empty: '' };
  assert.deepEqual(groupLabels(critical!, labels), { plan: 'p1', wave: '2' });
  assert.deepEqual(groupLabels(critical!, { plan: 'p1' }), { plan: 'p1' });
  assert.deepEqual(groupLabels(critical!.routes[0]!, labels), {
    plan: 'p1',
    wave: '2',
    host: 'h7',
    severity: 'critical',
    step: 'rollback',
  });
  assert.deepEqual(groupLabels(buildRouteTree({ receiver: 'r' }), labels), {}, 'no group_by: one group for the route');
});

test("group keys are Alertmanager's text", () => {
  const [critical] = tree.routes;
  const labels = { wave: '2', plan: 'p1', host: 'h7', severity: 'critical' };
  assert.equal(groupKey(critical!, labels), '{}/{severity="critical"}:{plan="p1", wave="2"}');
  assert.equal(groupKey(critical!, { ...labels, host: 'h8' }), groupKey(critical!, labels), 'other hosts share the group');
  assert.equal(groupKey(tree, { plan: 'p"1' }), '{}:{plan="p\\"1"}');
  assert.equal(groupKey(buildRouteTree({ receiver: 'r' }), labels), '{}:{}');
  assert.equal(labelsString({ b: '1', a: 'x\ny' }), '{a="x\\ny", b="1"}');
  assert.equal(labelsString({ a: '1', a0: '2', c: '\u0001' }), '{a0="2", a="1", c="\\x01"}', 'Go sorts the name="value" texts');
});

test('the root needs a receiver', () => {
  assert.throws(() => buildRouteTree({ routes: [] }), /the root route needs a receiver/);
});

test('routeAt finds a route by its path, null when there is none', () => {
  for (const r of allRoutes(tree)) assert.equal(routeAt(tree, r.path), r);
  assert.equal(routeAt(tree, [0, 5]), null);
  assert.equal(routeAt(tree, [9]), null);
});
