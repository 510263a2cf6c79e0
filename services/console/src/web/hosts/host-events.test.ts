import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concernsHost } from './host-events.ts';

test('a host event about this host is a reason to ask again; others are not', () => {
  assert.equal(concernsHost({ event: 'host', data: { hostId: 'h-1', state: 'active' } }, 'h-1'), true);
  assert.equal(concernsHost({ event: 'host', data: { hostId: 'h-2', state: 'active' } }, 'h-1'), false);
  assert.equal(concernsHost({ event: 'plan', data: { id: 'p-1', hostId: 'h-1' } }, 'h-1'), false);
  assert.equal(concernsHost({ event: 'host', data: null }, 'h-1'), false);
  assert.equal(concernsHost({ event: 'host', data: 'h-1' }, 'h-1'), false);
});
