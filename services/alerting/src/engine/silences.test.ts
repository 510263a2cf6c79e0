import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMatchers } from './matchers.ts';
import { lastSilenceEnd, type Silence, silencedBy, silenceState, validateSilence } from './silences.ts';

const silence = (id: string, matchers: string, startsAt: number, endsAt: number): Silence => ({
  id,
  matchers: parseMatchers(matchers),
  startsAt,
  endsAt,
  createdBy: 'ops',
  comment: 'maintenance',
});

test('a silence is pending before it starts, active until it ends, expired from its end', () => {
  const s = silence('s', 'a="b"', 100, 200);
  assert.equal(silenceState(s, 99), 'pending');
  assert.equal(silenceState(s, 100), 'active');
  assert.equal(silenceState(s, 199), 'active');
  assert.equal(silenceState(s, 200), 'expired');
});

test('silencedBy: the active silences whose matchers all hold, sorted by id', () => {
  const silences = [
    silence('s3', 'plan="p1"', 0, 1_000),
    silence('s1', '{plan="p1", host=~"h[0-9]"}', 0, 1_000),
    silence('s2', 'plan="p2"', 0, 1_000),
    silence('s4', 'plan="p1"', 500, 1_000),
    silence('s5', 'plan="p1"', 0, 100),
  ];
  assert.deepEqual(silencedBy({ plan: 'p1', host: 'h1' }, silences, 200), ['s1', 's3']);
  assert.deepEqual(silencedBy({ plan: 'p1', host: 'web' }, silences, 600), ['s3', 's4']);
  assert.deepEqual(silencedBy({ plan: 'p3' }, silences, 200), []);
  assert.deepEqual(silencedBy({ plan: 'p1' }, silences, 1_000), [], 'all expired');
});

test('lastSilenceEnd: the latest end of expired matching silences', () => {
  const silences = [
    silence('a', 'plan="p1"', 0, 300),
    silence('b', 'plan="p1"', 0, 500),
    silence('c', 'plan="p2"', 0, 700),
    silence('d', 'plan="p1"', 0, 900),
  ];
  assert.equal(lastSilenceEnd({ plan: 'p1' }, silences, 600), 500, 'd still active, c does not match');
  assert.equal(lastSilenceEnd({ plan: 'p1' }, silences, 200), null);
  assert.equal(
    lastSilenceEnd({ plan: 'p1' }, [silence('never', 'plan="p1"', 400, 400)], 600),
    null,
    'a silence that never ran muted nothing',
  );
});

test('a valid silence has no problems', () => {
  assert.deepEqual(validateSilence(silence('x', 'plan="p1"', 0, 2_000), 1_000), []);
  assert.deepEqual(
    validateSilence(silence('x', '{plan=~".*", host="h1"}', 0, 2_000), 1_000),
    [],
    'one matcher that needs a value is enough',
  );
});

test('every problem of a new silence is returned, each with its field', () => {
  const bad = { ...silence('x', 'a="b"', 2_000, 1_000), matchers: [], createdBy: ' ', comment: '' };
  assert.deepEqual(validateSilence(bad, 1_500), [
    { path: 'matchers', reason: 'a silence needs at least one matcher' },
    { path: 'endsAt', reason: 'must be after startsAt' },
    { path: 'endsAt', reason: 'must be in the future' },
    { path: 'createdBy', reason: 'who creates the silence must be given' },
    { path: 'comment', reason: 'a comment saying why must be given' },
  ]);
});

test('matchers that all match the empty string are refused: they would mute everything', () => {
  const problems = validateSilence(silence('x', '{a=~".*", b!="x", c=""}', 0, 2_000), 1_000);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.path, 'matchers');
  assert.match(problems[0]!.reason, /at least one matcher must not match the empty string/);
});

test('a matcher built by hand with a bad regex or no name is reported', () => {
  const s = {
    ...silence('x', 'a="b"', 0, 2_000),
    matchers: [
      { name: 'a', type: '=~' as const, value: '(' },
      { name: '', type: '=' as const, value: 'v' },
    ],
  };
  const problems = validateSilence(s, 1_000);
  assert.deepEqual(
    problems.map((p) => p.path),
    ['matchers[0].value', 'matchers[1].name'],
  );
  assert.match(problems[0]!.reason, /not a valid regular expression/);
});
