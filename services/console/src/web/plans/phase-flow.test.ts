import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flowColumns, flowLayout, type PhaseView, phaseNodes, phaseState } from './phase-flow.ts';

const states = { pending: 0, active: 0, held: 0, succeeded: 0, failed: 0, excluded: 0 };
const phase = (index: number, p: Partial<PhaseView> = {}): PhaseView => ({
  index,
  name: index === 0 ? 'canary' : `wave ${index}`,
  size: 10,
  budget: 1,
  started: 0,
  final: 0,
  failed: 0,
  inFlight: 0,
  states,
  ...p,
});

test('a phase is done when every host is final, running while hosts are in flight, open once admitted, pending before', () => {
  assert.equal(phaseState(phase(0, { final: 10, started: 10 }), 1), 'done');
  assert.equal(phaseState(phase(1, { started: 4, inFlight: 3, final: 1 }), 1), 'running');
  assert.equal(phaseState(phase(1, { started: 4, final: 4 }), 1), 'open');
  assert.equal(phaseState(phase(2), 1), 'pending');
  // Hosts of a later phase still finishing while a gate holds the next: still running.
  assert.equal(phaseState(phase(0, { started: 10, final: 9, inFlight: 1 }), 1), 'running');
  // An empty wave behind the open one was passed; the open one, empty, is open.
  assert.equal(phaseState(phase(1, { size: 0 }), 2), 'done');
  assert.equal(phaseState(phase(2, { size: 0 }), 2), 'open');
});

test('the nodes: canary then waves, the open phase marked while the plan lives, the gated phase named', () => {
  const plan = {
    phases: [phase(0, { size: 2, started: 2, final: 2, states: { ...states, succeeded: 1, failed: 1 } }), phase(1), phase(2)],
    openPhase: 0,
    state: 'waiting-approval' as const,
    gate: { phase: 1, mode: 'manual' as const, since: new Date(0), soakUntil: null, reason: 'canary done' },
  };
  const nodes = phaseNodes(plan);
  assert.deepEqual(
    nodes.map((n) => [n.kind, n.wave, n.state, n.current, n.gated]),
    [
      ['canary', 0, 'done', true, false],
      ['wave', 1, 'pending', false, true],
      ['wave', 2, 'pending', false, false],
    ],
  );
  assert.deepEqual(nodes[0]?.states, { ...states, succeeded: 1, failed: 1 });
  // A copy: the node does not share the view's counts.
  assert.notEqual(nodes[0]?.states, plan.phases[0]?.states);
  const done = phaseNodes({ ...plan, state: 'completed', gate: null, openPhase: 2 });
  assert.deepEqual(
    done.map((n) => [n.current, n.gated]),
    [
      [false, false],
      [false, false],
      [false, false],
    ],
  );
});

test('the flow reads left to right and wraps onto rows; each node says where it leads', () => {
  assert.equal(flowColumns(1000), 4);
  assert.equal(flowColumns(999), 3);
  assert.equal(flowColumns(358), 1);
  assert.equal(flowColumns(0), 1);
  assert.deepEqual(flowLayout(5, 2), [
    { row: 0, column: 0, next: 'right' },
    { row: 0, column: 1, next: 'wrap' },
    { row: 1, column: 0, next: 'right' },
    { row: 1, column: 1, next: 'wrap' },
    { row: 2, column: 0, next: 'end' },
  ]);
  assert.deepEqual(
    flowLayout(3, 1).map((c) => c.next),
    ['wrap', 'wrap', 'end'],
  );
  assert.deepEqual(
    flowLayout(3, 9).map((c) => [c.row, c.next]),
    [
      [0, 'right'],
      [0, 'right'],
      [0, 'end'],
    ],
  );
  assert.deepEqual(flowLayout(0, 3), []);
});
