import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { LabelSet } from '../model/alert.ts';
import { fingerprint } from './fingerprint.ts';
import { type InhibitAlert, type InhibitRule, inhibited, inhibitionIndex, lastInhibitionEnd } from './inhibition.ts';
import { parseMatchers } from './matchers.ts';

const alert = (labels: LabelSet, endsAt: number | null = null): InhibitAlert => ({ fingerprint: fingerprint(labels), labels, endsAt });
const pausedPlan: InhibitRule = {
  sourceMatchers: parseMatchers('alertname="PlanPaused"'),
  targetMatchers: parseMatchers('alertname="StepFailed"'),
  equal: ['plan'],
};
const paused = alert({ alertname: 'PlanPaused', plan: 'p1' });
const failed = alert({ alertname: 'StepFailed', plan: 'p1', host: 'h1' });

test('a firing source inhibits targets with equal labels', () => {
  assert.equal(inhibited(failed, [paused, failed], [pausedPlan]), paused.fingerprint);
  assert.equal(inhibited(alert({ alertname: 'StepFailed', plan: 'p2', host: 'h1' }), [paused], [pausedPlan]), null, 'other plan');
  assert.equal(inhibited(paused, [paused, failed], [pausedPlan]), null, 'the source is not a target');
  assert.equal(inhibited(failed, [], [pausedPlan]), null);
  assert.equal(inhibited(failed, [paused], []), null);
});

test('only firing sources inhibit', () => {
  assert.equal(inhibited(failed, [alert(paused.labels, 1_000)], [pausedPlan]), null);
});

test('an equal label missing on both sides counts as equal; missing on one side does not', () => {
  const rule: InhibitRule = { ...pausedPlan, equal: ['plan', 'zone'] };
  assert.equal(inhibited(failed, [paused], [rule]), paused.fingerprint, 'zone absent on both');
  assert.equal(inhibited(failed, [alert({ ...paused.labels, zone: 'z1' })], [rule]), null);
  assert.equal(inhibited(alert({ ...failed.labels, zone: 'z1' }), [paused], [rule]), null);
});

test('an alert never inhibits itself, and two alerts matching both sides do not mute each other', () => {
  const rule: InhibitRule = { sourceMatchers: parseMatchers('severity="critical"'), targetMatchers: parseMatchers('team="db"'), equal: [] };
  const a = alert({ severity: 'critical', team: 'db', host: 'a' });
  const b = alert({ severity: 'critical', team: 'db', host: 'b' });
  assert.equal(inhibited(a, [a], [rule]), null);
  assert.equal(inhibited(a, [a, b], [rule]), null);
  assert.equal(inhibited(b, [a, b], [rule]), null);
  const sourceOnly = alert({ severity: 'critical', team: 'web' });
  assert.equal(inhibited(a, [a, b, sourceOnly], [rule]), sourceOnly.fingerprint, 'a source that is not a target still mutes it');
});

test('with several sources the answer is the smallest fingerprint, whatever the order', () => {
  const sources = ['p1', 'p1'].map((plan, i) => alert({ alertname: 'PlanPaused', plan, n: String(i) }));
  const expected = [sources[0]!.fingerprint, sources[1]!.fingerprint].sort()[0];
  assert.equal(inhibited(failed, sources, [pausedPlan]), expected);
  assert.equal(inhibited(failed, [...sources].reverse(), [pausedPlan]), expected);
});

test('lastInhibitionEnd: the latest endsAt of resolved sources that inhibited the alert', () => {
  const early = alert({ alertname: 'PlanPaused', plan: 'p1', n: '1' }, 1_000);
  const late = alert({ alertname: 'PlanPaused', plan: 'p1', n: '2' }, 5_000);
  const otherPlan = alert({ alertname: 'PlanPaused', plan: 'p2' }, 9_000);
  assert.equal(lastInhibitionEnd(failed, [early, late, otherPlan, paused], [pausedPlan]), 5_000);
  assert.equal(lastInhibitionEnd(failed, [paused, otherPlan], [pausedPlan]), null);
});

test('inhibitionIndex answers as the pairwise inhibited and lastInhibitionEnd do (property)', () => {
  const value = fc.constantFrom('a', 'b', '');
  const alertArb = fc.record({
    labels: fc.record({ alertname: fc.constantFrom('Src', 'Tgt', 'Both'), plan: value, wave: value }),
    endsAt: fc.option(fc.integer({ min: 1, max: 100 }), { nil: null }),
  });
  const ruleArb = fc.record({
    source: fc.constantFrom('alertname=~"Src|Both"', 'alertname="Src"', 'plan="a"'),
    target: fc.constantFrom('alertname=~"Tgt|Both"', 'alertname="Tgt"', 'wave!="b"'),
    equal: fc.subarray(['plan', 'wave']),
  });
  fc.assert(
    fc.property(fc.array(alertArb, { maxLength: 12 }), fc.array(ruleArb, { maxLength: 3 }), (raw, rawRules) => {
      const alerts = raw.map((a, i) => ({ fingerprint: `f${String(i).padStart(2, '0')}`, labels: a.labels, endsAt: a.endsAt }));
      const rules = rawRules.map((r) => ({
        sourceMatchers: parseMatchers(r.source),
        targetMatchers: parseMatchers(r.target),
        equal: r.equal,
      }));
      const index = inhibitionIndex(alerts, rules);
      const firing = alerts.filter((a) => a.endsAt === null);
      for (const a of alerts) {
        assert.equal(index.inhibitedBy(a), inhibited(a, firing, rules), `inhibitedBy ${a.fingerprint}`);
        assert.equal(index.lastEnd(a), lastInhibitionEnd(a, alerts, rules), `lastEnd ${a.fingerprint}`);
      }
    }),
    { numRuns: 2000 },
  );
});
