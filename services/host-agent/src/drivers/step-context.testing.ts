// A StepContext for tests that run a driver directly: fields default to a first attempt
// of a standalone step, and run data lives in the given map.
import type { StepContext } from './driver.ts';

export function stepContext(
  fields: Pick<StepContext, 'hostId' | 'runId' | 'step' | 'profile'> & Partial<StepContext>,
  runData = new Map<string, unknown>(),
): StepContext {
  return {
    attempt: 1,
    dryRun: false,
    backupId: '',
    planId: '',
    probe: undefined,
    signal: new AbortController().signal,
    resumed: false,
    lastCheckpoint: undefined,
    log: () => undefined,
    progress: () => undefined,
    checkpoint: async () => undefined,
    runData: {
      get: <T>(key: string) => runData.get(key) as T | undefined,
      set: async (key: string, value: unknown) => void runData.set(key, value),
    },
    ...fields,
  };
}
