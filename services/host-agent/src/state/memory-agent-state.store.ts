// An agent's state kept in memory only: for a benchmark's simulated fleet, where one JSON
// file written per host and step was most of the fleet's own cost. It keeps what the file
// store keeps (the last RECENT_LIMIT finished steps, the recent runs' data) and loses it all
// with the process, so a fleet that must survive a crash keeps files.
import { type AgentState, type AgentStateStore, RECENT_LIMIT, recentRuns } from './agent-state.store.ts';

export class MemoryAgentStateStore implements AgentStateStore {
  readonly #hostId: string;
  #state: AgentState | undefined;

  constructor(hostId: string) {
    this.#hostId = hostId;
  }

  async load(): Promise<AgentState> {
    return this.#state ? structuredClone(this.#state) : { hostId: this.#hostId, recent: [] };
  }

  async save(state: AgentState): Promise<void> {
    // A copy, as a file would be: later changes to the caller's object are not saved.
    this.#state = structuredClone({
      ...state,
      recent: state.recent.slice(-RECENT_LIMIT),
      ...(state.runData ? { runData: recentRuns(state.runData) } : {}),
    });
  }
}
