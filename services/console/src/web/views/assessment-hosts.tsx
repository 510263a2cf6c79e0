// A drill-down of the assessment view: the hosts of one finding kind (or reason for not
// being assessed), each a link to its host view. The overview names the first 20 hosts of
// a group; "show all" reads the group from …/assessment/hosts a page at a time as the list
// scrolls, and a long list is virtualised (only the rows in sight are in the page: a kind
// can affect 100,000 hosts).
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import type { ReportFilters, ReportScope } from '../assessment/report-query.ts';
import { counted, formatCount, type HostGroup, namesAll } from '../assessment/report-shape.ts';
import { useGroupHosts } from '../assessment/use-assessment.ts';
import { ErrorBanner } from './error-banner.tsx';

/** Lists longer than this are virtualised. */
const PLAIN_LIST_MAX = 50;
const ROW_PX = 30;

export interface HostGroupProps {
  group: HostGroup;
  /** What the group is, in words, for the controls' names ("held-packages", "Never assessed"). */
  what: string;
  scope: ReportScope;
  filters: ReportFilters;
}

export function HostGroupDrillDown({ group, what, scope, filters }: HostGroupProps) {
  const { t, i18n } = useTranslation();
  const [open, setOpen] = useState(false);
  const [all, setAll] = useState(false);
  const listId = `hosts-${group.key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const count = counted(group.hostCount, i18n.language);
  const label = t('assessment.hostsOf', { what });

  return (
    <div className="host-group">
      <button type="button" aria-expanded={open} aria-controls={listId} onClick={() => setOpen((o) => !o)}>
        {open ? t('assessment.hideHosts', { what }) : t('assessment.showHosts', { ...count, what })}
      </button>
      {open && (
        <div id={listId}>
          {all ? (
            <PagedHosts group={group} scope={scope} filters={filters} label={label} />
          ) : (
            <HostLinks hosts={group.hosts} label={label} />
          )}
          {!all && !namesAll(group) && (
            <p className="hint">
              {t('assessment.someNamed', { shown: formatCount(group.hosts.length, i18n.language), n: count.n })}{' '}
              <button type="button" onClick={() => setAll(true)}>
                {t('assessment.showAll', { n: count.n })}
              </button>
            </p>
          )}
        </div>
      )}
    </div>
  );
}

function HostLinks({ hosts, label }: { hosts: string[]; label: string }) {
  return (
    <ul className="host-chips" aria-label={label}>
      {hosts.map((h) => (
        <li key={h}>
          <Link href={`/hosts/${encodeURIComponent(h)}`}>{h}</Link>
        </li>
      ))}
    </ul>
  );
}

/** Every host of the group, read a page at a time. */
function PagedHosts({ group, scope, filters, label }: { group: HostGroup; scope: ReportScope; filters: ReportFilters; label: string }) {
  const { t } = useTranslation();
  const { pages, error, seen } = useGroupHosts(scope, filters, group.key, group.hostCount);
  return (
    <>
      {error && <ErrorBanner error={error} />}
      {pages.hosts.length === 0 && !pages.done && <p className="hint">{t('assessment.loadingAll')}</p>}
      {pages.done && pages.hostCount <= PLAIN_LIST_MAX ? (
        <HostLinks hosts={pages.hosts} label={label} />
      ) : (
        pages.hosts.length > 0 && <VirtualHostList hosts={pages.hosts} total={pages.hostCount} label={label} onSeen={seen} />
      )}
    </>
  );
}

function VirtualHostList({
  hosts,
  total,
  label,
  onSeen,
}: {
  hosts: string[];
  /** Rows in the list: the hosts loaded and those still to come. */
  total: number;
  label: string;
  onSeen: (lastVisibleIndex: number) => void;
}) {
  const { t } = useTranslation();
  const scroller = useRef<HTMLElement>(null);
  const rows = useVirtualizer({ count: total, getScrollElement: () => scroller.current, estimateSize: () => ROW_PX, overscan: 8 });
  const items = rows.getVirtualItems();
  const last = items.at(-1)?.index ?? 0;
  useEffect(() => onSeen(last), [last, onSeen]);
  return (
    // Focusable so a keyboard can scroll it; a region named like its list.
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to scroll by keyboard
    <section ref={scroller} className="host-scroller" tabIndex={0} aria-label={label}>
      <ul className="host-rows" aria-label={label} style={{ height: rows.getTotalSize() }}>
        {items.map((row) => {
          const h = hosts[row.index];
          return (
            <li
              key={row.index}
              aria-setsize={total}
              aria-posinset={row.index + 1}
              style={{ transform: `translateY(${row.start}px)`, height: ROW_PX }}
            >
              {h ? <Link href={`/hosts/${encodeURIComponent(h)}`}>{h}</Link> : <span className="hint">{t('assessment.loadingRow')}</span>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
