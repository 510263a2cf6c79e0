import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../errors.ts';
import { BusPermissionError, busOutcome, NoResponderError, PublishUnavailableError, RequestTimeoutError } from './bus.ts';

test('a publish or request outcome is one of a few labels, whatever failed', () => {
  assert.equal(busOutcome(undefined), 'ok');
  assert.equal(busOutcome(new RequestTimeoutError('no reply')), 'timeout');
  assert.equal(busOutcome(new PublishUnavailableError('no ack')), 'timeout');
  assert.equal(busOutcome(new NoResponderError('nobody')), 'no_responder');
  assert.equal(busOutcome(new BusPermissionError('refused')), 'denied');
  assert.equal(busOutcome(new ValidationError('state', 'is not a state')), 'error');
  assert.equal(busOutcome(new Error('connection closed')), 'error');
  assert.equal(busOutcome('a string'), 'error');
});
