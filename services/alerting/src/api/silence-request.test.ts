// A silence request is checked whole: each problem names its field, all are reported at
// once, and a valid one becomes the silence to store (matchers as written, times as dates).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SilenceInvalidError } from './api-errors.ts';
import { silenceFromRequest } from './silence-request.ts';

const now = Date.UTC(2026, 11, 6, 12, 0, 0);

function problems(req: Parameters<typeof silenceFromRequest>[0]): Record<string, string> {
  try {
    silenceFromRequest(req, 'ops-li', now);
  } catch (err) {
    assert.ok(err instanceof SilenceInvalidError, String(err));
    assert.equal(err.httpStatus, 400);
    assert.equal(err.details.field, err.problems[0]?.path);
    return Object.fromEntries(err.problems.map((p) => [p.path, p.reason]));
  }
  assert.fail('the request was taken');
}

test('a duration runs from now, or from startsAt', () => {
  const s = silenceFromRequest(
    { matchers: ' {plan="p1", step=~"upgrade|reboot"} ', duration: '1h30m', comment: 'maintenance ' },
    'ops-li',
    now,
  );
  assert.deepEqual(s, {
    matchers: '{plan="p1", step=~"upgrade|reboot"}',
    startsAt: new Date(now),
    endsAt: new Date(now + 90 * 60_000),
    createdBy: 'ops-li',
    comment: 'maintenance',
  });
  const later = silenceFromRequest({ matchers: 'plan=p1', startsAt: '2026-12-07T00:00:00+08:00', duration: '2h', comment: 'x' }, 'a', now);
  assert.equal(later.startsAt.toISOString(), '2026-12-06T16:00:00.000Z');
  assert.equal(later.endsAt.toISOString(), '2026-12-06T18:00:00.000Z');
});

test('an end given as a time', () => {
  const s = silenceFromRequest({ matchers: 'host="h-1"', endsAt: '2026-12-06T14:00:00Z', comment: 'reboot' }, 'a', now);
  assert.equal(s.endsAt.getTime(), now + 2 * 3_600_000);
});

test('every problem at once, each with its field', () => {
  const got = problems({ matchers: '{plan="p1"', startsAt: 'tomorrow', duration: '2 hours', comment: '' });
  assert.deepEqual(Object.keys(got).sort(), ['body.comment', 'body.duration', 'body.matchers', 'body.startsAt']);
  assert.match(got['body.matchers'] ?? '', /\S/);
  assert.match(got['body.startsAt'] ?? '', /"tomorrow" is not an ISO 8601 time/);
  assert.match(got['body.duration'] ?? '', /"2 hours" is not a duration/);
  assert.match(got['body.comment'] ?? '', /comment/);
});

test('missing fields, both an end and a duration, an end in the past, a matcher that mutes everything', () => {
  assert.deepEqual(Object.keys(problems({})).sort(), ['body.comment', 'body.endsAt', 'body.matchers']);
  assert.match(
    problems({ matchers: 'plan=p1', endsAt: '2026-12-07T00:00:00Z', duration: '1h', comment: 'c' })['body.duration'] ?? '',
    /not both/,
  );
  assert.match(problems({ matchers: 'plan=p1', endsAt: '2026-12-06T11:00:00Z', comment: 'c' })['body.endsAt'] ?? '', /future/);
  assert.match(problems({ matchers: 'plan=~".*"', duration: '1h', comment: 'c' })['body.matchers'] ?? '', /empty string/);
  assert.match(problems({ matchers: 'plan="p1"', duration: '0', comment: 'c' })['body.duration'] ?? '', /not a duration/);
  assert.match(problems({ matchers: 'step=~"(upgrade"', duration: '1h', comment: 'c' })['body.matchers'] ?? '', /regular expression/);
});
