// The drill-down's hosts, virtualised: only the rows in view (and a few either side) are in
// the page however many are loaded, and the next page is asked for as the view nears the
// end of what is loaded. Each row links to the host's run in this plan.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import type { HostList } from '../plans/host-pages.ts';

const ROW_PX = 40;

export function PlanHostList({
  planId,
  list,
  total,
  label,
  onShown,
}: {
  planId: string;
  list: HostList;
  total: number;
  label: string;
  onShown: (lastIndex: number) => void;
}) {
  const { t, i18n } = useTranslation();
  const scroller = useRef<HTMLElement>(null);
  const rows = useVirtualizer({
    count: list.rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_PX,
    overscan: 10,
  });
  const items = rows.getVirtualItems();
  const last = items.at(-1)?.index ?? -1;
  // Asked again when a page lands too: the view may still be near the end.
  // biome-ignore lint/correctness/useExhaustiveDependencies: a page landing (rows, loading) is what asks again
  useEffect(() => onShown(last), [last, onShown, list.rows.length, list.loading]);
  const num = new Intl.NumberFormat(i18n.language);

  if (!list.started) return <p>{t('plan.loadingHosts')}</p>;
  if (list.rows.length === 0) return <p className="no-hosts">{t('plan.noHosts')}</p>;
  return (
    <>
      <p className="hint host-count" data-loaded={list.rows.length} data-total={total}>
        {t('plan.loaded', { loaded: num.format(list.rows.length), total: num.format(total) })}
        {list.loading !== null ? ` ${t('plan.loadingMore')}` : ''}
      </p>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to scroll by keyboard */}
      <section ref={scroller} className="plan-host-scroller" tabIndex={0} aria-label={label}>
        <ul className="plan-host-rows" aria-label={label} style={{ height: rows.getTotalSize() }}>
          {items.map((item) => {
            const h = list.rows[item.index];
            if (!h) return null;
            return (
              <li
                key={h.hostId}
                className="plan-host-row"
                data-host={h.hostId}
                aria-setsize={total}
                aria-posinset={item.index + 1}
                style={{ transform: `translateY(${item.start}px)`, height: ROW_PX }}
              >
                <Link
                  href={`/plans/${encodeURIComponent(planId)}/hosts/${encodeURIComponent(h.hostId)}`}
                  aria-label={t('plan.openHost', { host: h.hostId, state: t(`runState.${h.state}`) })}
                >
                  {h.hostId}
                </Link>
                <span className={`badge run-${h.state}`} data-run-state={h.state}>
                  {t(`runState.${h.state}`)}
                </span>
                <span className="host-step">{h.step ? t(`step.${h.step}`) : ''}</span>
                <span className="host-cluster">{h.cluster}</span>
                {h.failureCode && <code className="host-failure">{h.failureCode}</code>}
              </li>
            );
          })}
        </ul>
      </section>
    </>
  );
}
