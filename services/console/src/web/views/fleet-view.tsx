// The fleet overview: plans with counts by state, percent done, wave and error budget left,
// moving live; the alerts firing; the hosts by OS release and agent version. A table at
// desktop width, cards on a phone (CSS only).
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import { NewPlanButton } from '../actions/new-plan-button.tsx';
import { fleetTotals, PLAN_STATES, type PlanSummary, waveProgress } from '../fleet/plan-list.ts';
import { usePlanList } from '../fleet/use-plan-list.ts';
import { ErrorBanner } from './error-banner.tsx';
import { FleetAlertsCard } from './fleet-alerts-card.tsx';
import { FleetInventory } from './fleet-inventory.tsx';

export function FleetView() {
  const { t, i18n } = useTranslation();
  const { plans, error, live, refresh } = usePlanList();
  const totals = plans ? fleetTotals(plans) : null;
  const date = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'short', timeStyle: 'short' });

  return (
    <section aria-labelledby="fleet-title">
      <div className="view-header">
        <h1 id="fleet-title">{t('fleet.title')}</h1>
        <button type="button" onClick={refresh}>
          {t('fleet.refresh')}
        </button>
        <NewPlanButton />
      </div>
      {error && <ErrorBanner error={error} />}
      <div className="summary">
        <FleetAlertsCard />
        <FleetInventory />
      </div>
      {totals && (
        <div className="summary">
          <section aria-labelledby="by-state-title" className="card">
            <h2 id="by-state-title">{t('fleet.byState')}</h2>
            <ul className="state-counts">
              {PLAN_STATES.filter((s) => totals.plansByState[s] > 0).map((s) => (
                <li key={s} data-state={s}>
                  <span className={`badge state-${s}`}>{t(`planState.${s}`)}</span> {totals.plansByState[s]}
                </li>
              ))}
            </ul>
          </section>
          <section aria-labelledby="hosts-title" className="card">
            <h2 id="hosts-title">{t('fleet.hostsInPlans')}</h2>
            <p>{t('fleet.counts', { ...totals.hosts })}</p>
          </section>
        </div>
      )}
      <h2>{t('fleet.plans')}</h2>
      {plans && plans.length === 0 && <p>{t('fleet.noPlans')}</p>}
      {plans && plans.length > 0 && (
        <table className="plans">
          <thead>
            <tr>
              <th scope="col">{t('fleet.column.name')}</th>
              <th scope="col">{t('fleet.column.state')}</th>
              <th scope="col">{t('fleet.column.progress')}</th>
              <th scope="col">{t('fleet.column.budget')}</th>
              <th scope="col">{t('fleet.column.created')}</th>
            </tr>
          </thead>
          <tbody>
            {plans.map((p) => (
              <PlanRow key={p.id} plan={p} live={live.has(p.id)} created={date.format(new Date(p.createdAt))} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function PlanRow({ plan: p, live, created }: { plan: PlanSummary; live: boolean; created: string }) {
  const { t } = useTranslation();
  return (
    <tr data-plan={p.id}>
      <th scope="row" data-label={t('fleet.column.name')}>
        <Link href={`/plans/${encodeURIComponent(p.id)}`} aria-label={t('fleet.openPlan', { name: p.name })}>
          {p.name}
        </Link>
        {live && (
          <span className="live" title={t('fleet.live')}>
            {t('fleet.live')}
          </span>
        )}
      </th>
      <td data-label={t('fleet.column.state')}>
        <span className={`badge state-${p.state}`}>{t(`planState.${p.state}`)}</span>
      </td>
      <td data-label={t('fleet.column.progress')}>
        <progress max={100} value={p.percentDone} aria-label={t('fleet.percentDone', { percent: p.percentDone })} />{' '}
        <span className="percent">{t('fleet.percentDone', { percent: p.percentDone })}</span>
        <div className="counts">{t('fleet.counts', { ...p.counters })}</div>
        <WaveLine plan={p} />
      </td>
      <td data-label={t('fleet.column.budget')} className="budget">
        {t('fleet.budgetLeft', { ...p.budget })}
      </td>
      <td data-label={t('fleet.column.created')}>{created}</td>
    </tr>
  );
}

/** "Canary (then 3 waves)" or "Wave 2 of 3": where the plan's rollout is. */
function WaveLine({ plan }: { plan: PlanSummary }) {
  const { t } = useTranslation();
  const w = waveProgress(plan);
  if (!w) return null;
  return (
    <div className="wave" data-wave={w.phase === 'canary' ? 0 : w.n}>
      {w.phase === 'canary' ? t('fleet.waveCanary', { count: w.waves }) : t('fleet.waveOf', { n: w.n, of: w.of })}
    </div>
  );
}
