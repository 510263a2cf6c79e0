// Which steps a run walks, as a pure function of what it is for (a migration, an
// assessment, one operation) and whether the host has workloads to drain.
import type { StepName } from '@yixing/common';
import { MIGRATION_STEPS } from './transitions.ts';

/** What a run is for: a plan's mode, or the capability one operation asked for. */
export const CAPABILITIES = ['assess', 'backup', 'upgrade', 'rollback', 'migrate'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/**
 * The forward steps of a run. Drain and undrain surround the change only on a host with
 * workloads (detected roles): the undrain comes before the postcheck, so the postcheck
 * sees the workloads back on the new system. A backup alone drains nothing (the
 * workloads would stay stopped until a later upgrade); an upgrade alone checks again
 * before it changes anything, from the backup of the run it continues.
 */
export function runPath(capability: Capability, hasWorkloads: boolean): StepName[] {
  const around = (steps: readonly StepName[]): StepName[] =>
    hasWorkloads
      ? steps.flatMap((s): StepName[] =>
          s === 'backup' || (s === 'upgrade' && !steps.includes('backup')) ? ['drain', s] : s === 'postcheck' ? ['undrain', s] : [s],
        )
      : [...steps];
  switch (capability) {
    case 'assess':
      return ['precheck'];
    case 'backup':
      return ['precheck', 'backup'];
    case 'upgrade':
      return around(MIGRATION_STEPS.filter((s) => s !== 'backup'));
    case 'rollback':
      return hasWorkloads ? ['drain', 'rollback', 'undrain'] : ['rollback'];
    case 'migrate':
      return around(MIGRATION_STEPS);
  }
}
