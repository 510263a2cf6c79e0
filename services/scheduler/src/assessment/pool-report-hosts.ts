// One page of a pool report group's hosts: the hosts of a finding kind (inhibitor or
// warning) or of a reason for not being assessed, in host-id order, after a host id. The
// overview names 20 hosts a kind and the full report every host of the pool (about 330
// bytes a host); a console drilling into a kind of 100,000 hosts reads it a page at a time.
import { NOT_ASSESSED_REASONS, type PoolReport } from './pool-report.ts';

/** `inhibitor:<kind>`, `warning:<kind>` or `notAssessed:<reason>`. */
export const GROUP_PATTERN = `^(inhibitor|warning|notAssessed):[^\\s:]{1,200}$`;

export interface GroupHostsPage {
  group: string;
  /** Hosts in the group in all (0 when the report has no such group). */
  hostCount: number;
  hosts: string[];
  /** The last host of this page when more follow, else null. */
  lastHostId: string | null;
}

/** Every host of a group, in host-id order (the report lists them so); [] when there is none. */
export function groupHosts(report: Pick<PoolReport, 'inhibitors' | 'warnings' | 'notAssessed'>, group: string): string[] {
  const sep = group.indexOf(':');
  const what = group.slice(0, sep);
  const name = group.slice(sep + 1);
  if (what === 'inhibitor') return report.inhibitors.find((k) => k.kind === name)?.hosts ?? [];
  if (what === 'warning') return report.warnings.find((k) => k.kind === name)?.hosts ?? [];
  if (what === 'notAssessed' && (NOT_ASSESSED_REASONS as readonly string[]).includes(name))
    return report.notAssessed.find((n) => n.reason === name)?.hosts ?? [];
  return [];
}

/** The first index whose host id sorts after `after` (hosts in ascending order). */
function firstAfter(hosts: readonly string[], after: string): number {
  let lo = 0;
  let hi = hosts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((hosts[mid] as string) <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The group's hosts after `after` (from the first when null), at most `limit`. */
export function groupHostsPage(
  report: Pick<PoolReport, 'inhibitors' | 'warnings' | 'notAssessed'>,
  group: string,
  after: string | null,
  limit: number,
): GroupHostsPage {
  const all = groupHosts(report, group);
  const from = after === null ? 0 : firstAfter(all, after);
  const hosts = all.slice(from, from + limit);
  const more = from + hosts.length < all.length;
  return { group, hostCount: all.length, hosts, lastHostId: more ? (hosts.at(-1) ?? null) : null };
}
