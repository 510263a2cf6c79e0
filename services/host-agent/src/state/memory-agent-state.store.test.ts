import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentState, FinishedStep } from './agent-state.store.ts';
import { RECENT_LIMIT } from './agent-state.store.ts';
import { MemoryAgentStateStore } from './memory-agent-state.store.ts';

const finished = (i: number): FinishedStep => ({
  commandId: `c${i}`,
  runId: 'r',
  step: 'upgrade',
  attempt: 1,
  ok: true,
  failure: undefined,
  reportJson: '',
  finishedAt: i,
  published: true,
});

test('a memory state store keeps a copy of what was saved, trimmed as the file store trims it', async () => {
  const store = new MemoryAgentStateStore('h1');
  assert.deepEqual(await store.load(), { hostId: 'h1', recent: [] }, 'nothing saved: an empty state');
  const state: AgentState = { hostId: 'h1', recent: Array.from({ length: RECENT_LIMIT + 5 }, (_, i) => finished(i)) };
  await store.save(state);
  state.recent.push(finished(999));
  const loaded = await store.load();
  assert.equal(loaded.recent.length, RECENT_LIMIT, 'the oldest finished steps are dropped');
  assert.equal(loaded.recent.at(-1)?.commandId, `c${RECENT_LIMIT + 4}`, 'a change after the save is not saved');
  loaded.recent.pop();
  assert.equal((await store.load()).recent.length, RECENT_LIMIT, 'a loaded state is a copy too');
});
