import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecodeError, ValidationError } from '../errors.ts';
import { Step } from '../gen/yixing/v1/common_pb.js';
import { decode, decodeReply, encode, encodeReply, MAX_MESSAGE_BYTES, subjectPattern } from './codec.ts';

const command = {
  commandId: 'cmd-1',
  hostId: 'web-01',
  runId: 'run-1',
  action: { case: 'runStep' as const, value: { step: Step.UPGRADE, profile: 'debian-11-to-12', attempt: 1 } },
};

test('a command round-trips and its subject is filled from the message', () => {
  const { subject, data } = encode('agentCommand', command);
  assert.equal(subject, 'yx.v1.agent.web-01.cmd');
  const back = decode('agentCommand', data, subject);
  assert.equal(back.hostId, 'web-01');
  assert.equal(back.action.case, 'runStep');
  assert.equal(back.action.value?.step, Step.UPGRADE);
});

test('bytes that are not a protobuf message are rejected with a clear DecodeError', () => {
  assert.throws(
    () => decode('agentCommand', new Uint8Array([0x0a, 0xff, 0xff, 0xff])),
    (err: unknown) =>
      err instanceof DecodeError &&
      err.code === 'MESSAGE_UNDECODABLE' &&
      err.retryable === false &&
      err.message.startsWith('yixing.v1.AgentCommand: not a valid protobuf message'),
  );
});

test('an oversized payload is rejected before decoding', () => {
  assert.throws(() => decode('heartbeat', new Uint8Array(MAX_MESSAGE_BYTES + 1)), /exceeds the 1048576-byte limit/);
});

test('a message of another type is rejected by its field rules, naming the field', () => {
  const hb = encode('heartbeat', { hostId: 'web-01' });
  // Field 1 of a heartbeat (host_id) reads as a command id; host_id (field 2) is then missing.
  assert.throws(
    () => decode('agentCommand', hb.data),
    (err: unknown) => err instanceof ValidationError && err.field === 'yixing.v1.AgentCommand.host_id' && /is required/.test(err.message),
  );
});

test('a message on another host subject is refused', () => {
  const { data } = encode('agentCommand', command);
  assert.throws(
    () => decode('agentCommand', data, 'yx.v1.agent.web-02.cmd'),
    /belongs on yx.v1.agent.web-01.cmd, arrived on yx.v1.agent.web-02.cmd/,
  );
});

test('encode refuses values that break a rule or cannot be a subject token', () => {
  assert.throws(() => encode('agentCommand', { ...command, hostId: 'web.01' }), /host_id: "web.01" does not match/);
  assert.throws(
    () =>
      encode('agentCommand', {
        ...command,
        action: { case: 'runStep', value: { step: Step.UPGRADE, profile: 'Bad Profile!', attempt: 1 } },
      }),
    /run_step.profile: "Bad Profile!" does not match/,
  );
  assert.throws(
    () => encode('agentCommand', { ...command, action: { case: 'runStep', value: { step: Step.UPGRADE, profile: 'p', attempt: 0 } } }),
    /run_step.attempt: must be at least 1/,
  );
  assert.throws(
    () =>
      encode('stepEvent', {
        eventId: 'e',
        hostId: 'h',
        runId: 'r',
        commandId: 'c',
        step: Step.PRECHECK,
        phase: 2,
        kindToken: 'started',
        percent: 101,
      }),
    /percent: is 101, must be at most 100/,
  );
});

test('replies are typed by the route', () => {
  const data = encodeReply('agentCommand', { commandId: 'cmd-1', accepted: true, duplicate: false });
  const ack = decodeReply('agentCommand', data);
  assert.equal(ack.$typeName, 'yixing.v1.CommandAck');
  assert.equal(ack.accepted, true);
  assert.throws(() => encodeReply('agentCommand', { commandId: '' }), /command_id: is required/);
});

test('subscription patterns fill given tokens and wildcard the rest', () => {
  assert.equal(subjectPattern('stepEvent'), 'yx.v1.evt.host.*.*');
  assert.equal(subjectPattern('stepEvent', { hostId: 'web-01' }), 'yx.v1.evt.host.web-01.*');
  assert.equal(subjectPattern('logLine', { hostId: 'web-01', runId: 'run-1' }), 'yx.v1.log.web-01.run-1');
  assert.throws(() => subjectPattern('heartbeat', { hostId: 'a.b' }), /cannot be a subject token/);
});

test('a repeated field is held to its item count, and each string item to its pattern', () => {
  const registration = (roles: string[]) => ({
    hostId: 'web-01',
    driver: 'apt',
    facts: { hostname: 'web-01', osId: 'debian', osVersion: '11', roles },
  });
  const { data, subject } = encode('agentRegistration', registration(['containers', 'kubernetes-node']));
  assert.deepEqual(decode('agentRegistration', data, subject).facts?.roles, ['containers', 'kubernetes-node']);
  assert.throws(() => encode('agentRegistration', registration(['containers', 'Bad Role'])), /facts.roles\[1\]: "Bad Role" does not match/);
  assert.throws(
    () => encode('agentRegistration', registration(Array.from({ length: 33 }, (_, i) => `role-${i}`))),
    /facts.roles: has 33 items, at most 32 allowed/,
  );
});
