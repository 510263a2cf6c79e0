// The hosts of one group of the pool report (a finding kind, a reason for not being
// assessed) as the drill-down loads them: page after page from …/assessment/hosts, each
// asked for when the rows in sight come near the end of what is loaded. Pure, unit-tested.

export interface GroupPage {
  group: string;
  hostCount: number;
  hosts: string[];
  nextCursor: string | null;
}

export interface GroupPages {
  hosts: string[];
  /** The hosts in the group, as the last page counted them (the list's length). */
  hostCount: number;
  /** Where the next page starts (null: the first page). */
  cursor: string | null;
  /** Every page is loaded. */
  done: boolean;
}

/** Nothing loaded yet; the overview's count stands until the first page answers. */
export const noPages = (hostCount: number): GroupPages => ({ hosts: [], hostCount, cursor: null, done: false });

/** The pages with the next one added. */
export function addPage(pages: GroupPages, page: GroupPage): GroupPages {
  const hosts = pages.hosts.concat(page.hosts);
  const done = page.nextCursor === null;
  // A group that shrank meanwhile ends where its last page does.
  return { hosts, hostCount: done ? hosts.length : Math.max(page.hostCount, hosts.length), cursor: page.nextCursor, done };
}

/** Whether to ask for the next page: rows in sight within `ahead` of the end of what is loaded. */
export const wantsMore = (pages: GroupPages, lastVisibleIndex: number, ahead = 200): boolean =>
  !pages.done && lastVisibleIndex + ahead >= pages.hosts.length;
