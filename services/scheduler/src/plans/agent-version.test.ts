import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentVersionRefusal, minAgentVersionProblem, splitByAgentVersion } from './agent-version.ts';

test('a minimum must be a semantic version', () => {
  assert.equal(minAgentVersionProblem('0.2.0'), undefined);
  assert.equal(minAgentVersionProblem('1.0.0-rc.1'), undefined);
  assert.equal(minAgentVersionProblem('0.2'), '"0.2" is not a semantic version (MAJOR.MINOR.PATCH, like 0.2.0)');
  assert.match(minAgentVersionProblem('>=0.2.0') ?? '', /not a semantic version/);
  assert.match(minAgentVersionProblem('latest') ?? '', /not a semantic version/);
});

test('an older agent is refused with both versions named', () => {
  assert.equal(agentVersionRefusal('0.1.0', '0.2.0'), "agent 0.1.0 is older than the plan's minimum 0.2.0");
  // Numeric, not textual: 0.10.0 is newer than 0.9.0.
  assert.equal(agentVersionRefusal('0.9.0', '0.10.0'), "agent 0.9.0 is older than the plan's minimum 0.10.0");
  assert.equal(agentVersionRefusal('0.10.0', '0.9.0'), undefined);
});

test('an agent at or above the minimum may run', () => {
  assert.equal(agentVersionRefusal('0.2.0', '0.2.0'), undefined);
  assert.equal(agentVersionRefusal('0.2.1', '0.2.0'), undefined);
  assert.equal(agentVersionRefusal('1.0.0', '0.2.0'), undefined);
  // Build metadata does not order versions.
  assert.equal(agentVersionRefusal('0.2.0+g1234abc', '0.2.0'), undefined);
});

test('a pre-release is older than its release', () => {
  assert.equal(agentVersionRefusal('0.2.0-rc.1', '0.2.0'), "agent 0.2.0-rc.1 is older than the plan's minimum 0.2.0");
  assert.equal(agentVersionRefusal('0.2.0', '0.2.0-rc.1'), undefined);
});

test('an unknown or unparseable agent version is refused: nothing says it is new enough', () => {
  assert.equal(agentVersionRefusal('', '0.2.0'), "agent version unknown (none reported at registration); the plan's minimum is 0.2.0");
  assert.equal(
    agentVersionRefusal(undefined, '0.2.0'),
    "agent version unknown (none reported at registration); the plan's minimum is 0.2.0",
  );
  assert.equal(agentVersionRefusal('test', '0.2.0'), `agent version "test" is not a semantic version; the plan's minimum is 0.2.0`);
});

test('a plan without a minimum refuses no host; with one, the old and the unknown', () => {
  const hosts = [
    { id: 'a', agentVersion: '0.1.0' },
    { id: 'b', agentVersion: '0.2.0' },
    { id: 'c', agentVersion: '' },
  ];
  assert.deepEqual(splitByAgentVersion(hosts, undefined), { eligible: hosts, refused: [] });
  const { eligible, refused } = splitByAgentVersion(hosts, '0.2.0');
  assert.deepEqual(
    eligible.map((h) => h.id),
    ['b'],
  );
  assert.deepEqual(
    refused.map((r) => [r.host.id, r.reason]),
    [
      ['a', "agent 0.1.0 is older than the plan's minimum 0.2.0"],
      ['c', "agent version unknown (none reported at registration); the plan's minimum is 0.2.0"],
    ],
  );
});
