// Step names as they appear in profiles, the CLI, logs and the API; the bus uses the Step enum.
import { Step } from './gen/yixing/v1/common_pb.js';

export const STEP_NAMES = [
  'cluster-check',
  'precheck',
  'drain',
  'backup',
  'upgrade',
  'reboot',
  'undrain',
  'postcheck',
  'rollback',
] as const;
export type StepName = (typeof STEP_NAMES)[number];

const byEnum: Record<number, StepName> = {
  [Step.CLUSTER_CHECK]: 'cluster-check',
  [Step.PRECHECK]: 'precheck',
  [Step.BACKUP]: 'backup',
  [Step.UPGRADE]: 'upgrade',
  [Step.REBOOT]: 'reboot',
  [Step.POSTCHECK]: 'postcheck',
  [Step.ROLLBACK]: 'rollback',
  [Step.DRAIN]: 'drain',
  [Step.UNDRAIN]: 'undrain',
};

export function stepName(step: Step): StepName {
  const name = byEnum[step];
  if (!name) throw new Error(`unknown step ${step}`);
  return name;
}

export function stepEnum(name: StepName): Step {
  return Number(Object.entries(byEnum).find(([, n]) => n === name)?.[0]) as Step;
}

export function isStepName(s: string): s is StepName {
  return (STEP_NAMES as readonly string[]).includes(s);
}
