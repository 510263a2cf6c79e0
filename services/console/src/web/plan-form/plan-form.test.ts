import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyPlanForm, formToPlanInput, inputOfField, numberOrText, planInputToForm } from './plan-form.ts';

const filled = () => ({
  ...emptyPlanForm(),
  name: ' rehearsal ',
  selector: { pool: 'db', cluster: 'c1, c2', zone: '', rack: '', role: '', hosts: '' },
  profile: 'centos-7-to-openeuler-22.03',
  waves: '25%, 5, 100%',
  maxInFlight: '4',
  perCluster: { value: '1', unit: 'count' as const },
  onFailure: 'hold' as const,
  window: { days: ['sat' as const, 'sun' as const], from: '01:00', to: '05:00', timezone: 'Asia/Shanghai' },
  startPaused: true,
});

test('the form is the body it stands for: lists for several values, amounts by unit, blanks left out', () => {
  assert.deepEqual(formToPlanInput(filled()), {
    name: 'rehearsal',
    selector: { pool: 'db', cluster: ['c1', 'c2'] },
    profile: 'centos-7-to-openeuler-22.03',
    canary: { count: 1 },
    promotion: { mode: 'manual' },
    waves: [{ percent: 25 }, { count: 5 }, { percent: 100 }],
    limits: { maxInFlight: 4, perCluster: { count: 1 } },
    errorBudget: { plan: { percent: 5 } },
    windows: [{ days: ['sat', 'sun'], from: '01:00', to: '05:00', timezone: 'Asia/Shanghai' }],
    onFailure: 'hold',
    startPaused: true,
  });
});

test('what is not a number is sent as typed, so the validator names the field', () => {
  assert.equal(numberOrText(' 12 '), 12);
  assert.equal(numberOrText('2.5'), 2.5);
  assert.equal(numberOrText('ten'), 'ten');
  const body = formToPlanInput({ ...filled(), maxInFlight: 'ten', canary: { value: 'x', unit: 'percent' } });
  assert.deepEqual((body.limits as Record<string, unknown>).maxInFlight, 'ten');
  assert.deepEqual(body.canary, { percent: 'x' });
});

test('YAML to form and back gives the same body, keeping what the form has no input for', () => {
  const body = {
    ...formToPlanInput(filled()),
    mode: 'migrate',
    steps: { retries: { upgrade: 1 } },
    selector: { pool: 'db', cluster: ['c1', 'c2'], hosts: ['h-1'] },
    promotion: { mode: 'auto', soakSeconds: 600 },
  };
  assert.deepEqual(formToPlanInput(planInputToForm(body)), body);
  // Two windows do not fit the form's one: they stay as they were.
  const twoWindows = {
    ...body,
    windows: [
      { start: '2030-01-01T00:00:00Z', end: '2030-01-02T00:00:00Z' },
      { days: ['mon'], from: '01:00', to: '02:00' },
    ],
  };
  assert.deepEqual(formToPlanInput(planInputToForm(twoWindows)), twoWindows);
});

test('a problem’s field belongs to the longest input path that contains it', () => {
  const inputs = ['selector', 'selector.pool', 'canary', 'waves', 'limits.maxInFlight', 'windows'];
  assert.equal(inputOfField('body.limits.maxInFlight', inputs), 'limits.maxInFlight');
  assert.equal(inputOfField('body.selector.pool', inputs), 'selector.pool');
  assert.equal(inputOfField('body.selector', inputs), 'selector');
  assert.equal(inputOfField('body.canary.count', inputs), 'canary');
  assert.equal(inputOfField('body.waves[1].percent', inputs), 'waves');
  assert.equal(inputOfField('body.windows[0].from', inputs), 'windows');
  assert.equal(inputOfField('body.steps.retries', inputs), undefined);
});
