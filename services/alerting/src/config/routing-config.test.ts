import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '@yixing/common';
import { parse } from 'yaml';
import { inhibited } from '../engine/inhibition.ts';
import { groupKey, route } from '../engine/routing.ts';
import { loadRoutingConfig, parseDuration, parseRoutingConfig } from './routing-config.ts';

const receivers = ['oncall', 'pager', 'db-chat', 'mail'];

const yaml = `
route:
  receiver: oncall
  group_by: [plan, wave]
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      group_wait: 10s
      continue: true
    - matchers: ['{team="db", severity=~"critical|warning"}']
      receiver: db-chat
      repeat_interval: 1h30m
      routes:
        - match: { step: rollback }
          match_re: { host: "db-.*" }
          group_by: ['...']
          receiver: mail
inhibit_rules:
  - source_matchers: ['alertname="PlanPaused"']
    target_matchers: ['alertname="StepFailed"']
    equal: [plan]
  - source_match: { alertname: ClusterCheckFailed }
    target_match_re: { alertname: "Step.*" }
    equal: [cluster]
`;

test('durations: Prometheus grammar, compound units, 0', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('4h'), 14_400_000);
  assert.equal(parseDuration('1d'), 86_400_000);
  assert.equal(parseDuration('1w'), 7 * 86_400_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('0'), 0);
  for (const bad of ['', '5x', '5', '1.5h', '30m1h', '-5m', '5 m', 'h']) assert.equal(parseDuration(bad), null, bad);
});

test('a configuration as the operator writes it builds the tree and the rules, with Alertmanager defaults', () => {
  const { route: tree, inhibitRules } = loadRoutingConfig(parse(yaml), receivers);
  assert.deepEqual(tree.timers, { groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 14_400_000 });
  const [pager, dbChat] = tree.routes;
  assert.equal(pager!.timers.groupWaitMs, 10_000);
  assert.equal(dbChat!.timers.repeatIntervalMs, 5_400_000);
  assert.equal(dbChat!.routes[0]!.timers.repeatIntervalMs, 5_400_000, 'inherited');
  const labels = { severity: 'critical', team: 'db', step: 'rollback', host: 'db-1', plan: 'p1', wave: '2' };
  assert.deepEqual(
    route(tree, labels).map((r) => r.receiver),
    ['pager', 'mail'],
  );
  assert.equal(groupKey(pager!, labels), '{}/{severity="critical"}:{plan="p1", wave="2"}');
  assert.equal(dbChat!.routes[0]!.key, '{}/{severity=~"critical|warning",team="db"}/{host=~"db-.*",step="rollback"}');
  assert.equal(inhibitRules.length, 2);
  const paused = { fingerprint: 'x', labels: { alertname: 'PlanPaused', plan: 'p1' }, endsAt: null };
  const failed = { fingerprint: 'y', labels: { alertname: 'StepFailed', plan: 'p1' }, endsAt: null };
  assert.equal(inhibited(failed, [paused], inhibitRules), 'x');
});

test('every problem is reported at once, each with its path', () => {
  const result = parseRoutingConfig(
    {
      route: {
        receiver: 'oncall',
        matchers: ['a="b"'],
        continue: true,
        group_by: ['plan', 'plan', '1x'],
        group_interval: '0',
        routes: [
          { receiver: 'pagr', group_wait: '5x' },
          { matchers: ['severity=>"x"'], match_re: { host: '(' }, group_by: ['...', 'plan'], continue: 'yes', repeat_interval: 300 },
          { mute_time_intervals: ['nights'], recevier: 'mail', routes: {} },
          'not a route',
        ],
      },
      inhibit_rules: [{ source_matchers: ['alertname="A"'], equal: ['ok', 'no-dash'] }, { target_match: { alertname: 'B' } }, []],
    },
    receivers,
  );
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.deepEqual(
    result.problems.map((p) => `${p.path}: ${p.reason}`),
    [
      'route.group_by[2]: "1x" is not a label name',
      'route.group_by: "plan" is listed twice',
      'route.continue: the root route cannot continue (it has no siblings)',
      'route.matchers: the root route cannot have matchers (it must take every alert)',
      'route.group_interval: cannot be zero',
      'route.routes[0].receiver: "pagr" is not a receiver (receivers: "oncall", "pager", "db-chat", "mail")',
      'route.routes[0].group_wait: "5x" is not a duration (like 30s, 5m, 4h, 1d, 1h30m)',
      "route.routes[1].group_by: '...' (every label) cannot be listed with other labels",
      'route.routes[1].continue: must be true or false, not "yes"',
      'route.routes[1].matchers[0]: "severity=>\\"x\\"": unknown operator "=>" after "severity" (use =, !=, =~ or !~) at position 8',
      'route.routes[1].match_re.host: "(" is not a valid regular expression for "host": Invalid regular expression: /^(?:()$/: Unterminated group',
      'route.routes[1].repeat_interval: 300 is not a duration (like 30s, 5m, 4h, 1d, 1h30m)',
      'route.routes[2].mute_time_intervals: is not supported by Yixing alerting (use silences)',
      'route.routes[2].recevier: unknown key (known: receiver, group_by, continue, matchers, match, match_re, group_wait, group_interval, repeat_interval, routes)',
      'route.routes[2].routes: must be a list, not {}',
      'route.routes[3]: must be a mapping, not "not a route"',
      'inhibit_rules[0].equal[1]: "no-dash" is not a label name',
      'inhibit_rules[1].source_matchers: missing: every firing alert would inhibit the targets',
      'inhibit_rules[2]: must be a mapping, not []',
    ],
  );
});

test('a missing route, a missing root receiver, a rule without targets', () => {
  const noRoute = parseRoutingConfig({ inhibit_rules: [{ source_matchers: ['a="b"'] }] }, receivers);
  assert.deepEqual(!noRoute.ok && noRoute.problems, [
    { path: 'route', reason: 'missing: the root route with its receiver' },
    { path: 'inhibit_rules[0].target_matchers', reason: 'missing: the rule would mute every alert' },
  ]);
  const noReceiver = parseRoutingConfig({ route: { group_by: ['plan'] } }, []);
  assert.deepEqual(!noReceiver.ok && noReceiver.problems, [
    { path: 'route.receiver', reason: 'the root route needs a receiver (it takes every alert no other route takes)' },
  ]);
  const unknown = parseRoutingConfig({ route: { receiver: 'x' } }, []);
  assert.deepEqual(!unknown.ok && unknown.problems.map((p) => p.reason), ['"x" is not a receiver (receivers: none are configured)']);
  assert.deepEqual(!parseRoutingConfig(null, []).ok && 'refused', 'refused');
  const badMatchers = parseRoutingConfig(
    { route: { receiver: 'mail', routes: [{ matchers: [7], match: ['a'], match_re: { x: 1 } }] } },
    receivers,
  );
  assert.deepEqual(!badMatchers.ok && badMatchers.problems.map((p) => `${p.path}: ${p.reason}`), [
    `route.routes[0].matchers[0]: 7 is not a matcher string like 'severity="critical"'`,
    'route.routes[0].match: must be a mapping of label names to values, not ["a"]',
    'route.routes[0].match_re.x: 1 is not a string',
  ]);
});

test('loadRoutingConfig throws a ConfigError listing every problem', () => {
  assert.throws(
    () => loadRoutingConfig({ route: { receiver: 'nobody', group_wait: 'soon' } }, receivers),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, /route\.receiver: "nobody" is not a receiver/);
      assert.match(err.message, /route\.group_wait: "soon" is not a duration/);
      assert.equal((err.details.problems as unknown[]).length, 2);
      return true;
    },
  );
});
