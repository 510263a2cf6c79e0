// Which cancel stops the step in flight: a cancel names the run and the step it means
// (AgentCommand.runId, CancelStep.step), and only the step it names is stopped. A cancel
// sent for an earlier step, another run, or by a confused sender changes nothing.
import { type Step, type StepName, stepName } from '@yixing/common';

/** The step the agent is running, if any. */
export interface RunningStep {
  runId: string;
  step: StepName;
  commandId: string;
}

export type CancelDecision = { cancel: true } | { cancel: false; reason: string };

/** Pure: whether a cancel for `step` of run `runId` stops `running`, and if not, why. */
export function decideCancel(runId: string, step: Step, running: RunningStep | undefined): CancelDecision {
  let name: StepName;
  try {
    name = stepName(step);
  } catch {
    return { cancel: false, reason: `the cancel names no known step (step ${step}); nothing was cancelled` };
  }
  if (running && running.runId === runId && running.step === name) return { cancel: true };
  const now = running ? `${running.step} of run ${running.runId} (command ${running.commandId})` : 'nothing';
  return { cancel: false, reason: `step ${name} of run ${runId} is not running; running: ${now}` };
}
