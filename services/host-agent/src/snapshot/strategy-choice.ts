// Which rollback strategy a host gets, from what it requires and what it can do. Pure.
import type { Finding } from '../assessment/finding.ts';
import type { SnapshotDriverName } from './snapshot.driver.ts';

/** `snapshot`: the root's snapshot reverted; `packages`: the recorded package set reinstalled; `none`: no rollback. */
export type RollbackStrategy = 'snapshot' | 'packages' | 'none';
/** What a plan, the operator or a profile requires. */
export type RollbackRequirement = 'snapshot' | 'packages' | 'any';

export interface StrategyOption {
  strategy: Exclude<RollbackStrategy, 'none'>;
  /** For `snapshot`: the driver that would keep it. */
  driver?: SnapshotDriverName;
  usable: boolean;
  detail: string;
}

export interface StrategyChoice {
  chosen: RollbackStrategy;
  driver?: SnapshotDriverName;
  findings: Finding[];
}

export function isRollbackRequirement(v: string): v is RollbackRequirement {
  return v === 'snapshot' || v === 'packages' || v === 'any';
}

/** The plan's or operator's requirement, else the profile's, else any. */
export function rollbackRequirement(
  fromRun: RollbackRequirement | '' | undefined,
  fromProfile: RollbackRequirement | undefined,
): RollbackRequirement {
  return fromRun || fromProfile || 'any';
}

const describe = (options: StrategyOption[], strategy: StrategyOption['strategy']): string =>
  options
    .filter((o) => o.strategy === strategy)
    .map((o) => `${o.driver ?? o.strategy}: ${o.detail}`)
    .join('; ');

/**
 * A snapshot when any driver can keep one (options in the order drivers are preferred),
 * else the package restore, as the requirement allows. A requirement the host cannot
 * meet inhibits the migration; a host with no rollback at all is said so plainly.
 */
export function chooseStrategy(required: RollbackRequirement, options: StrategyOption[]): StrategyChoice {
  const snapshot = options.find((o) => o.strategy === 'snapshot' && o.usable);
  const packages = options.find((o) => o.strategy === 'packages' && o.usable);
  if (required !== 'packages' && snapshot)
    return { chosen: 'snapshot', ...(snapshot.driver ? { driver: snapshot.driver } : {}), findings: [] };
  if (required !== 'snapshot' && packages) return { chosen: 'packages', findings: [] };
  if (required === 'snapshot')
    return {
      chosen: 'none',
      findings: [
        {
          id: 'rollback-snapshot-unavailable',
          severity: 'high',
          inhibitor: true,
          title: 'a snapshot rollback is required and this root cannot be snapshotted',
          detail: describe(options, 'snapshot'),
          remediation:
            'put the root on a btrfs subvolume (or, for /, an LVM thin volume), or for a directory root free space beside it for a copy; ' +
            'or allow another strategy (--rollback packages|any, or the plan’s or profile’s rollback)',
        },
      ],
    };
  if (required === 'packages')
    return {
      chosen: 'none',
      findings: [
        {
          id: 'rollback-packages-unavailable',
          severity: 'high',
          inhibitor: true,
          title: 'a package rollback is required and the source release’s packages cannot be restored',
          detail: describe(options, 'packages'),
          remediation: 'give the profile the source release’s repositories, or allow another strategy (--rollback snapshot|any)',
        },
      ],
    };
  return {
    chosen: 'none',
    findings: [
      {
        id: 'rollback-none',
        severity: 'high',
        inhibitor: false,
        title: 'this host cannot be rolled back: a failed migration stays as it failed',
        detail: options.map((o) => `${o.driver ?? o.strategy}: ${o.detail}`).join('; '),
        remediation:
          'make a snapshot possible (btrfs subvolume, LVM thin volume, space for a copy) or give the profile its source repositories',
      },
    ],
  };
}
