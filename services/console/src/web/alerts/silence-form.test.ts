import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMatchers } from '@yixing/alerting/internal';
import { formProblemsOf, matchersOf, prefilledForm, quoteValue, silenceRequestOf } from './silence-form.ts';

test("an alert's labels become matchers of exactly that label set, alertname first", () => {
  assert.equal(
    matchersOf({ step: 'upgrade', host: 'h-1', alertname: 'StepFailed', zone: 'z1', plan: 'p-1', severity: 'warning' }),
    '{alertname="StepFailed", severity="warning", plan="p-1", host="h-1", step="upgrade", zone="z1"}',
  );
});

test('values with quotes, backslashes and control characters read back as the same values', () => {
  const labels = { alertname: 'X', summary: 'a "quoted" \\ path\nnext\tline\u0001' };
  const parsed = parseMatchers(matchersOf(labels));
  assert.deepEqual(
    parsed.map((m) => [m.name, m.type, m.value]),
    [
      ['alertname', '=', 'X'],
      ['summary', '=', labels.summary],
    ],
  );
  assert.equal(quoteValue('中文'), '"中文"');
});

test('the form opens with the alert’s matchers and two hours; blank without an alert', () => {
  assert.deepEqual(prefilledForm({ alertname: 'A' }), { matchers: '{alertname="A"}', duration: '2h', comment: '' });
  assert.equal(prefilledForm(null).matchers, '');
});

test('a filled form is the request, trimmed; empty fields are named, nothing is sent', () => {
  assert.deepEqual(silenceRequestOf({ matchers: ' {a="b"} ', duration: '1h ', comment: ' maintenance ' }), {
    request: { matchers: '{a="b"}', duration: '1h', comment: 'maintenance' },
  });
  assert.deepEqual(silenceRequestOf({ matchers: '', duration: '2h', comment: '  ' }), {
    problems: [
      { field: 'matchers', key: 'alerts.silenceForm.required.matchers' },
      { field: 'comment', key: 'alerts.silenceForm.required.comment' },
    ],
  });
});

test("the API's problems go beside the field each names; the end's beside the duration", () => {
  assert.deepEqual(
    formProblemsOf([
      { field: 'body.matchers[0].value', reason: 'bad regex' },
      { field: 'body.duration', reason: '"2x" is not a duration' },
      { field: 'body.endsAt', reason: 'must be in the future' },
      { field: 'body.comment', reason: 'is required' },
      { field: 'body', reason: 'not an object' },
    ]),
    [
      { field: 'matchers', reason: 'bad regex' },
      { field: 'duration', reason: '"2x" is not a duration' },
      { field: 'duration', reason: 'must be in the future' },
      { field: 'comment', reason: 'is required' },
      { field: 'form', reason: 'not an object' },
    ],
  );
});
