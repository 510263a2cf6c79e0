// A host: its facts, its runs (one chosen), the chosen run's step graph and the selected
// step's details and log. At /hosts/:host, and at /plans/:plan/hosts/:host/steps/:step
// (the link an alert carries): that plan's run, with that step selected.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import { RunActions } from '../actions/run-actions.tsx';
import { hostAssessment } from '../hosts/host-assessment.ts';
import { nodeForStep, type RunView, runFacts, stepNodes } from '../hosts/step-graph.ts';
import { type HostInfo, useHost } from '../hosts/use-host.ts';
import { ErrorBanner } from './error-banner.tsx';
import { HostAssessmentCard } from './host-assessment.tsx';
import { HostBackupCard } from './host-backup.tsx';
import { HostStepDetail } from './host-step-detail.tsx';
import { HostStepGraph } from './host-step-graph.tsx';
import './host-view.css';

/** The route's parameters: `host`, and with a deep link `plan` and `step`. */
export interface HostViewParams {
  host?: string;
  plan?: string;
  step?: string;
}

export function HostView({ params: route }: { params: HostViewParams }) {
  const { t } = useTranslation();
  const params = { ...route, host: route.host ?? '' };
  const { detail, error, reload } = useHost(params.host);
  const [runKey, setRunKey] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  // A new address (another host, another deep link) starts over.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the address is what resets the choice
  useEffect(() => {
    setRunKey(null);
    setSelected(null);
  }, [params.host, params.plan, params.step]);

  const runs = detail?.runs ?? [];
  const run: RunView | undefined =
    runs.find((r) => r.planId === runKey) ??
    (params.plan ? runs.find((r) => r.planId === params.plan) : (runs.find((r) => r.state === 'active') ?? runs[0]));
  const nodes = run ? stepNodes(run) : [];
  // The deep link's step is selected once its run is known (and stays, unless the user picks another).
  const chosen = selected ?? (params.step && run?.planId === params.plan ? (nodeForStep(nodes, params.step)?.id ?? null) : null);
  const node = nodes.find((n) => n.id === chosen);
  const facts = run ? runFacts(run.history) : null;

  return (
    <section aria-labelledby="host-title" className="host-view">
      <div className="view-header">
        <h1 id="host-title">{t('host.title', { host: params.host })}</h1>
      </div>
      {error && <ErrorBanner error={error} />}
      {!detail && !error && <p>{t('host.loading')}</p>}
      {detail && <HostFacts host={detail.host} />}
      {detail && runs.length === 0 && <p>{t('host.noRuns')}</p>}
      {detail && params.plan && !runs.some((r) => r.planId === params.plan) && runs.length > 0 && (
        <p className="error-banner" role="alert">
          {t('host.noRunOfPlan', { plan: params.plan })}
        </p>
      )}
      {run && facts && (
        <section className="card run-summary" aria-labelledby="run-title">
          <h2 id="run-title">
            <label htmlFor="run-choice">{t('host.run')}</label>
          </h2>
          <select
            id="run-choice"
            value={run.planId}
            onChange={(e) => {
              setRunKey(e.target.value);
              setSelected(null);
            }}
          >
            {runs.map((r) => (
              <option key={r.planId} value={r.planId}>
                {t('host.runOption', { plan: r.planId, state: t(`runState.${r.state}`) })}
              </option>
            ))}
          </select>{' '}
          <Link href={`/plans/${encodeURIComponent(run.planId)}`}>{t('host.openPlan', { plan: run.planId })}</Link>
          <dl className="facts">
            <dt>{t('host.runState')}</dt>
            <dd>
              <span className={`badge run-${run.state}`} data-run-state={run.state}>
                {t(`runState.${run.state}`)}
              </span>
            </dd>
            {run.rollback !== 'none' && (
              <>
                <dt>{t('host.rollback')}</dt>
                <dd data-rollback={run.rollback}>{t(`rollbackState.${run.rollback}`)}</dd>
              </>
            )}
            {run.failure && (
              <>
                <dt>{t('host.failure')}</dt>
                <dd className="run-failure">
                  {t(`step.${run.failure.step}`)}: <code>{run.failure.code}</code> {run.failure.message}
                </dd>
              </>
            )}
          </dl>
        </section>
      )}
      {run && facts && (
        <div className="host-cards">
          <HostAssessmentCard assessment={hostAssessment(run.history)} />
          <HostBackupCard
            backupId={run.backupId || facts.backupId || ''}
            verified={run.backupVerified}
            rollbackStrategy={facts.rollbackStrategy}
          />
        </div>
      )}
      {run && <RunActions run={run} onChanged={reload} />}
      {run && (
        <section aria-labelledby="steps-title">
          <h2 id="steps-title">{t('host.steps')}</h2>
          <p className="hint">{t('host.stepsHelp')}</p>
          <HostStepGraph nodes={nodes} selected={chosen} onSelect={setSelected} />
        </section>
      )}
      {run && node && <HostStepDetail key={`${run.runId}/${node.id}`} hostId={params.host} run={run} node={node} />}
    </section>
  );
}

function HostFacts({ host }: { host: HostInfo }) {
  const { t } = useTranslation();
  const roles = host.facts.roles ?? [];
  return (
    <section className="card host-facts" aria-labelledby="facts-title">
      <h2 id="facts-title">{t('host.facts')}</h2>
      <dl className="facts">
        <dt>{t('host.hostname')}</dt>
        <dd>{host.facts.hostname}</dd>
        <dt>{t('host.os')}</dt>
        <dd className="host-os">
          {host.facts.osId} {host.facts.osVersion}
        </dd>
        <dt>{t('host.arch')}</dt>
        <dd>{host.facts.arch}</dd>
        <dt>{t('host.kernel')}</dt>
        <dd>{host.facts.kernel}</dd>
        <dt>{t('host.roles')}</dt>
        <dd className="host-roles">{roles.length > 0 ? roles.join(', ') : t('host.noRoles')}</dd>
        <dt>{t('host.agent')}</dt>
        <dd>{host.agentVersion}</dd>
        <dt>{t('host.status')}</dt>
        <dd>{host.alive ? t('host.online') : t('host.offline')}</dd>
      </dl>
    </section>
  );
}
