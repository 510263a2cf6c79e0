import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCommitted, latestCommitted, type TicketDoc, ticketId, ticketRefs } from './run-versions.ts';

const at = new Date(0);
const ticket = (seq: number, epoch: number, fence = false): TicketDoc => ({ _id: ticketId('p', seq), planId: 'p', seq, epoch, fence, at });

test('a version without a ticket counts (written with its plan)', () => {
  assert.equal(isCommitted({ key: 'k', version: 0 }, undefined, []), true);
});

test('a version counts once its ticket is there, of its own epoch', () => {
  const v = { key: 'k', version: 3, epoch: 7, ticket: 12 };
  assert.equal(isCommitted(v, undefined, []), false, 'not yet committed (or never: the writer died)');
  assert.equal(isCommitted(v, ticket(12, 7), []), true);
  assert.equal(isCommitted(v, ticket(12, 8), []), false, 'another epoch holds that number');
  assert.equal(isCommitted(v, ticket(12, 8, true), []), false, 'a fence holds that number');
});

test("a deposed leader's ticket past a later epoch's fence does not count; one before it does", () => {
  const fences = [ticket(10, 8, true)];
  assert.equal(isCommitted({ key: 'k', version: 3, epoch: 7, ticket: 9 }, ticket(9, 7), fences), true);
  assert.equal(isCommitted({ key: 'k', version: 4, epoch: 7, ticket: 11 }, ticket(11, 7), fences), false);
  // The new leader's own tickets after its fence count.
  assert.equal(isCommitted({ key: 'k', version: 4, epoch: 8, ticket: 11 }, ticket(11, 8), fences), true);
});

test('the latest counted version wins; the next write follows the highest stored', () => {
  const tickets = new Map([[ticketId('p', 1), ticket(1, 7)]]);
  const versions = [
    { key: 'a', planId: 'p', version: 0 },
    { key: 'a', planId: 'p', version: 1, epoch: 7, ticket: 1 },
    { key: 'a', planId: 'p', version: 2, epoch: 7, ticket: 2 },
    { key: 'b', planId: 'p', version: 0 },
  ];
  const r = latestCommitted(versions, (v) => isCommitted(v, v.ticket ? tickets.get(ticketId('p', v.ticket)) : undefined, []));
  assert.equal(r.get('a')?.doc?.version, 1);
  assert.equal(r.get('a')?.top, 2);
  assert.equal(r.get('b')?.doc?.version, 0);
  assert.deepEqual(ticketRefs(versions).sort(), ['p#1', 'p#2']);
});
