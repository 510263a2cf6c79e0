import assert from 'node:assert/strict';
import { test } from 'node:test';
import { budgetRoom, countBy, orderHosts, planPhases, requiredHealthy, resolveAmount } from './plan-math.ts';

test('amounts: counts cap at the total, percentages round down', () => {
  assert.equal(resolveAmount({ count: 5 }, 3), 3);
  assert.equal(resolveAmount({ percent: 10 }, 25), 2);
  assert.equal(resolveAmount({ percent: 10 }, 9), 0);
  assert.equal(resolveAmount({ percent: 100 }, 7), 7);
  // 0.1 + 0.2 style float error must not lose a host: 30 % of 10 is 3.
  assert.equal(resolveAmount({ percent: 30 }, 10), 3);
});

test('phases: canary, then waves; a short last wave takes the remainder', () => {
  assert.deepEqual(
    planPhases(300, { count: 6 }, [{ percent: 20 }, { percent: 40 }, { percent: 40 }]).map((p) => p.size),
    [6, 60, 120, 114],
  );
  assert.deepEqual(
    planPhases(10, { count: 1 }, [{ count: 3 }]).map((p) => p.size),
    [1, 9],
  );
  assert.deepEqual(
    planPhases(10, { count: 2 }, []).map((p) => p.size),
    [2, 8],
  );
  assert.deepEqual(
    planPhases(10, { count: 2 }, [{ count: 6 }, { count: 6 }]).map((p) => p.size),
    [2, 6, 2],
  );
  assert.deepEqual(
    planPhases(5, { count: 2 }, [{ count: 6 }, { count: 1 }]).map((p) => p.size),
    [2, 3, 0],
  );
  assert.deepEqual(
    planPhases(2, { count: 2 }, []).map((p) => p.size),
    [2],
    'a canary that takes every host is the whole plan',
  );
});

test('cluster quorum: more than the percentage of members stays healthy', () => {
  assert.equal(requiredHealthy(5, 50), 3);
  assert.equal(requiredHealthy(4, 50), 3);
  assert.equal(requiredHealthy(25, 50), 13);
  assert.equal(requiredHealthy(2, 50), 2, 'a 2-node cluster cannot lose a node and keep a majority');
  assert.equal(requiredHealthy(2, 40), 1);
  assert.equal(requiredHealthy(1, 50), 0, 'a single host has no peers');
  assert.equal(requiredHealthy(10, 0), 0);
});

test('budget room: failures plus unfailed hosts in flight never pass the budget', () => {
  assert.equal(budgetRoom(10, 0, 0), 10);
  assert.equal(budgetRoom(10, 3, 4), 3);
  assert.equal(budgetRoom(10, 10, 0), 0);
  assert.equal(budgetRoom(10, 9, 5), 0);
  // Exhaustive check of the invariant for small numbers: taking `room` more hosts and
  // failing all of them (the worst case) lands exactly on the budget at most.
  for (let b = 1; b <= 6; b++) {
    for (let f = 0; f <= b; f++) {
      for (let inflight = 0; f + inflight <= b; inflight++) {
        assert.ok(f + inflight + budgetRoom(b, f, inflight) <= b);
        assert.equal(f + inflight + budgetRoom(b, f, inflight), b);
      }
    }
  }
});

test('host order interleaves clusters and is stable per plan', () => {
  const hosts = Array.from({ length: 12 }, (_, i) => ({ hostId: `h${i}`, cluster: `c${i % 3}` }));
  const order = orderHosts('p1', hosts);
  assert.equal(order.length, 12);
  assert.equal(new Set(order.map((h) => h.hostId)).size, 12);
  for (let i = 0; i + 2 < order.length; i += 3) {
    assert.equal(new Set(order.slice(i, i + 3).map((h) => h.cluster)).size, 3, 'each round takes one host per cluster');
  }
  assert.deepEqual(orderHosts('p1', [...hosts].reverse()), order);
  assert.notDeepEqual(
    orderHosts('p2', hosts).map((h) => h.hostId),
    order.map((h) => h.hostId),
  );
});

test('countBy counts the items under each key, keys in first-seen order', () => {
  const counts = countBy(['c1', 'c2', 'c1', '', 'c1'], (c) => c);
  assert.deepEqual(
    [...counts],
    [
      ['c1', 3],
      ['c2', 1],
      ['', 1],
    ],
  );
  assert.equal(countBy([], String).size, 0);
});
