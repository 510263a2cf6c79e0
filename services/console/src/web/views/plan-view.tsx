// A plan: its header (state, reason, profile, who and when, percent done, error budget,
// the gate waiting for approval), its canary and waves as a flow whose nodes count their
// hosts by state (numbers from the server), and a drill-down listing one phase's hosts in
// one state, virtualised and paged from the server, each row opening its host view. Live
// through the plan's event stream.
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import { PlanActions } from '../actions/plan-actions.tsx';
import type { HostFilter } from '../plans/host-pages.ts';
import { type PhaseNode, type PlanView as PlanData, phaseNodes } from '../plans/phase-flow.ts';
import { usePlan } from '../plans/use-plan.ts';
import { usePlanHosts } from '../plans/use-plan-hosts.ts';
import { ErrorBanner } from './error-banner.tsx';
import { PlanHostList } from './plan-host-list.tsx';
import { PhaseFlow, usePhaseName } from './plan-phase-flow.tsx';
import './plan-view.css';

export function PlanView({ params }: { params: { plan?: string } }) {
  const { t } = useTranslation();
  const planId = params.plan ?? '';
  const [filter, setFilter] = useState<HostFilter | null>(null);
  const hosts = usePlanHosts(planId, filter);
  const { plan, error, live } = usePlan(planId, hosts.changed);
  const nodes = plan ? phaseNodes(plan) : [];
  const select = useCallback((f: HostFilter) => setFilter(f), []);

  return (
    <section aria-labelledby="plan-title" className="plan-view">
      <div className="view-header">
        <h1 id="plan-title">{t('plan.title', { name: plan?.name ?? planId })}</h1>
        {live && (
          <span className="live" title={t('plan.live')}>
            {t('plan.live')}
          </span>
        )}
      </div>
      {error && <ErrorBanner error={error} />}
      {!plan && !error && <p>{t('plan.loading')}</p>}
      {plan && <PlanHeader plan={plan} />}
      {plan && (
        <p>
          <Link href={`/plans/${encodeURIComponent(planId)}/assessment`}>{t('assessment.planLink')}</Link>
        </p>
      )}
      {plan && <PlanActions plan={plan} />}
      {plan && (
        <section aria-labelledby="flow-title">
          <h2 id="flow-title">{t('plan.flow')}</h2>
          <p className="hint">{t('plan.flowHelp')}</p>
          <PhaseFlow nodes={nodes} selected={filter} onSelect={select} />
        </section>
      )}
      {plan && <DrillDown planId={planId} nodes={nodes} filter={filter} hosts={hosts} />}
    </section>
  );
}

function PlanHeader({ plan: p }: { plan: PlanData }) {
  const { t, i18n } = useTranslation();
  const phaseName = usePhaseName();
  const date = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' });
  const gatePhase = p.gate ? p.phases.find((ph) => ph.index === p.gate?.phase) : undefined;
  return (
    <section aria-labelledby="plan-facts-title" className="card plan-facts">
      <h2 id="plan-facts-title">{t('plan.facts')}</h2>
      <dl className="facts">
        <dt>{t('plan.state')}</dt>
        <dd>
          <span className={`badge state-${p.state}`} data-plan-state={p.state}>
            {t(`planState.${p.state}`)}
          </span>
          {p.stateReason && <span className="state-reason"> {p.stateReason}</span>}
        </dd>
        <dt>{t('plan.progress')}</dt>
        <dd>
          <progress max={100} value={p.percentDone} aria-label={t('plan.percentDone', { percent: p.percentDone })} />{' '}
          <span className="percent-done">{t('plan.percentDone', { percent: p.percentDone })}</span>
        </dd>
        <dt>{t('plan.budget')}</dt>
        <dd className="budget" data-remaining={p.budget.remaining}>
          {t('plan.budgetUsed', { ...p.budget })}
        </dd>
        <dt>{t('plan.gate')}</dt>
        <dd className="gate" data-gate={p.gate ? p.gate.mode : 'none'}>
          {p.gate && gatePhase
            ? p.gate.mode === 'auto' && p.gate.soakUntil
              ? t('plan.gateSoak', { phase: phaseName(gatePhase.index), until: date.format(new Date(p.gate.soakUntil)) })
              : t('plan.gateWaiting', { phase: phaseName(gatePhase.index), since: date.format(new Date(p.gate.since)) })
            : t('plan.noGate')}
        </dd>
        <dt>{t('plan.profile')}</dt>
        <dd className="profile">{p.profile}</dd>
        <dt>{t('plan.created')}</dt>
        <dd>{t('plan.createdByAt', { by: p.createdBy, at: date.format(new Date(p.createdAt)) })}</dd>
        <dt>{t('plan.hosts')}</dt>
        <dd>{t('plan.hostCounts', { ...p.counters })}</dd>
      </dl>
    </section>
  );
}

function DrillDown({
  planId,
  nodes,
  filter,
  hosts,
}: {
  planId: string;
  nodes: PhaseNode[];
  filter: HostFilter | null;
  hosts: ReturnType<typeof usePlanHosts>;
}) {
  const { t } = useTranslation();
  const phaseName = usePhaseName();
  const node = filter ? nodes.find((n) => n.index === filter.phase) : undefined;
  const title =
    node && filter
      ? t('plan.hostsOf', { phase: phaseName(node.index), state: filter.state ? t(`runState.${filter.state}`) : t('plan.allStates') })
      : t('plan.drillDown');
  // The total the server counts for this phase and state (never counted from loaded rows).
  const total = node && filter ? (filter.state ? node.states[filter.state] : node.size) : 0;
  return (
    <section aria-labelledby="drill-title" className="drill-down">
      <h2 id="drill-title">{title}</h2>
      {hosts.error && <ErrorBanner error={hosts.error} />}
      {!filter && <p className="hint">{t('plan.pickPhase')}</p>}
      {filter && hosts.list && <PlanHostList planId={planId} list={hosts.list} total={total} label={title} onShown={hosts.shown} />}
    </section>
  );
}
