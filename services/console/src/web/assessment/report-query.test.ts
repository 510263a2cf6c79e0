import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attachmentName, filtersFromSearch, groupHostsUrl, reportUrl, searchOf } from './report-query.ts';

const fleet = { kind: 'fleet' } as const;
const plan = { kind: 'plan', planId: 'pl_1' } as const;

test('the filters in the address: known fields only, trimmed, empty ones dropped', () => {
  assert.deepEqual(filtersFromSearch('?pool=%20assess%20&role=&slots=4&colour=red', fleet), { pool: 'assess', slots: '4' });
  // A plan's hosts are the plan's: no label filters.
  assert.deepEqual(filtersFromSearch('?pool=assess&slots=4', plan), { slots: '4' });
  assert.deepEqual(filtersFromSearch('', fleet), {});
});

test('the filters back as a query string, in the fields’ order', () => {
  assert.equal(searchOf({ slots: '4', pool: 'a b', role: ' ' }), '?pool=a+b&slots=4');
  assert.equal(searchOf({}), '');
});

test('the report’s URLs: overview, full and CSV, fleet and plan', () => {
  assert.equal(reportUrl(fleet, {}, 'overview'), '/api/scheduler/v1/assessment?view=overview');
  assert.equal(reportUrl(fleet, { pool: 'assess' }, 'csv'), '/api/scheduler/v1/assessment?pool=assess&format=csv');
  assert.equal(reportUrl(plan, { slots: '4' }, 'csv'), '/api/scheduler/v1/plans/pl_1/assessment?slots=4&format=csv');
  assert.equal(reportUrl({ kind: 'plan', planId: 'a/b' }, {}, 'overview'), '/api/scheduler/v1/plans/a%2Fb/assessment?view=overview');
});

test('a group’s pages: the fleet’s label filters but not the estimate’s fields, then the cursor', () => {
  assert.equal(
    groupHostsUrl(fleet, { pool: 'assess', slots: '4' }, 'inhibitor:held-packages', null),
    '/api/scheduler/v1/assessment/hosts?pool=assess&group=inhibitor%3Aheld-packages&limit=1000',
  );
  assert.equal(
    groupHostsUrl(plan, { slots: '4' }, 'notAssessed:never', 'WyIwIiwiaC0xIl0'),
    '/api/scheduler/v1/plans/pl_1/assessment/hosts?group=notAssessed%3Anever&limit=1000&cursor=WyIwIiwiaC0xIl0',
  );
});

test('the download’s file name from Content-Disposition, never a path', () => {
  assert.equal(attachmentName('attachment; filename="assessment-fleet-2026-12-06.csv"', 'x.csv'), 'assessment-fleet-2026-12-06.csv');
  assert.equal(attachmentName('attachment; filename=a.csv', 'x.csv'), 'a.csv');
  assert.equal(attachmentName(null, 'x.csv'), 'x.csv');
  assert.equal(attachmentName('attachment; filename="../etc/passwd"', 'x.csv'), 'x.csv');
});
