import assert from 'node:assert/strict';
import { test } from 'node:test';
import { servicesNoLongerEnabled } from './postcheck.ts';

test('a service enabled before the migration and not after is named; one enabled since is not', () => {
  assert.deepEqual(servicesNoLongerEnabled(['cron', 'exim4', 'nginx', 'postgresql'], ['cron', 'nginx', 'postgresql', 'e2scrub_reap']), [
    'exim4',
  ]);
  assert.deepEqual(servicesNoLongerEnabled(['cron'], ['cron']), []);
  assert.deepEqual(servicesNoLongerEnabled([], ['cron']), [], 'no precheck list (an older run): nothing to compare');
});
