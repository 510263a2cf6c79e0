// The overview's hosts by OS release and by agent version, pure: the largest rows as the
// server counted them, the rest summed into one "others" row (a fleet can run many
// versions), and each row's share of all hosts in whole percent, for its bar.
import type { InventorySummary } from '@yixing/scheduler';

export type { InventorySummary };

export interface InventoryRow {
  /** The OS release (`centos 7`) or the agent version; '' when the hosts did not report it. */
  name: string;
  hosts: number;
  online: number;
  /** Of all hosts, rounded; a row with hosts is at least 1. */
  percent: number;
  /** The row of everything past the largest. */
  others?: number;
}

const percentOf = (n: number, total: number): number => (n === 0 || total === 0 ? 0 : Math.max(1, Math.round((n / total) * 100)));

/** The first `max` rows (the server sorts, most hosts first), then one summing the rest. */
export function inventoryRows(
  rows: readonly { name: string; hosts: number; online: number }[],
  total: number,
  max: number,
): InventoryRow[] {
  const shown = rows.slice(0, max).map((r) => ({ ...r, percent: percentOf(r.hosts, total) }));
  const rest = rows.slice(max);
  if (rest.length === 0) return shown;
  const hosts = rest.reduce((n, r) => n + r.hosts, 0);
  const online = rest.reduce((n, r) => n + r.online, 0);
  return [...shown, { name: '', hosts, online, percent: percentOf(hosts, total), others: rest.length }];
}

export const osRows = (s: InventorySummary, max: number): InventoryRow[] =>
  inventoryRows(
    s.byOsRelease.map((r) => ({ name: [r.osId, r.osVersion].filter(Boolean).join(' '), hosts: r.hosts, online: r.online })),
    s.total,
    max,
  );

export const agentRows = (s: InventorySummary, max: number): InventoryRow[] =>
  inventoryRows(
    s.byAgentVersion.map((r) => ({ name: r.agentVersion, hosts: r.hosts, online: r.online })),
    s.total,
    max,
  );
