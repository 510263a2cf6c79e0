// A drill-down of the assessment view: the hosts of one finding kind (or reason for not
// being assessed), each a link to its host view. The overview names the first 20 hosts of
// a group; "show all" asks for the full report once, and a long list is virtualised (only
// the rows in sight are in the page: a kind can affect 100,000 hosts).
import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import { counted, type FullReport, formatCount, type HostGroup, hostsOfGroup, namesAll } from '../assessment/report-shape.ts';

/** Lists longer than this are virtualised. */
const PLAIN_LIST_MAX = 50;
const ROW_PX = 30;

export interface HostGroupProps {
  group: HostGroup;
  /** What the group is, in words, for the controls' names ("held-packages", "Never assessed"). */
  what: string;
  fullReport: () => Promise<FullReport | null>;
}

export function HostGroupDrillDown({ group, what, fullReport }: HostGroupProps) {
  const { t, i18n } = useTranslation();
  const [open, setOpen] = useState(false);
  const [all, setAll] = useState<string[] | null>(null);
  const [loadingAll, setLoadingAll] = useState(false);
  const listId = `hosts-${group.key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const hosts = all ?? group.hosts;
  const count = counted(group.hostCount, i18n.language);

  const showAll = (): void => {
    setLoadingAll(true);
    fullReport().then(
      (r) => {
        if (r) setAll(hostsOfGroup(r, group.key));
        setLoadingAll(false);
      },
      () => setLoadingAll(false),
    );
  };

  return (
    <div className="host-group">
      <button type="button" aria-expanded={open} aria-controls={listId} onClick={() => setOpen((o) => !o)}>
        {open ? t('assessment.hideHosts', { what }) : t('assessment.showHosts', { ...count, what })}
      </button>
      {open && (
        <div id={listId}>
          {hosts.length > PLAIN_LIST_MAX ? (
            <VirtualHostList hosts={hosts} label={t('assessment.hostsOf', { what })} />
          ) : (
            <ul className="host-chips" aria-label={t('assessment.hostsOf', { what })}>
              {hosts.map((h) => (
                <li key={h}>
                  <Link href={`/hosts/${encodeURIComponent(h)}`}>{h}</Link>
                </li>
              ))}
            </ul>
          )}
          {!all && !namesAll(group) && (
            <p className="hint">
              {t('assessment.someNamed', { shown: formatCount(group.hosts.length, i18n.language), n: count.n })}{' '}
              <button type="button" onClick={showAll} disabled={loadingAll}>
                {loadingAll ? t('assessment.loadingAll') : t('assessment.showAll', { n: count.n })}
              </button>
            </p>
          )}
        </div>
      )}
    </div>
  );
}

function VirtualHostList({ hosts, label }: { hosts: string[]; label: string }) {
  const scroller = useRef<HTMLElement>(null);
  const rows = useVirtualizer({ count: hosts.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_PX, overscan: 8 });
  return (
    // Focusable so a keyboard can scroll it; named by its list.
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to scroll by keyboard
    <section ref={scroller} className="host-scroller" tabIndex={0} aria-label={label}>
      <ul className="host-rows" aria-label={label} style={{ height: rows.getTotalSize() }}>
        {rows.getVirtualItems().map((row) => {
          const h = hosts[row.index] as string;
          return (
            <li
              key={h}
              aria-setsize={hosts.length}
              aria-posinset={row.index + 1}
              style={{ transform: `translateY(${row.start}px)`, height: ROW_PX }}
            >
              <Link href={`/hosts/${encodeURIComponent(h)}`}>{h}</Link>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
