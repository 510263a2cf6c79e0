// The assessment view: the pool report of the fleet (/assessment, filtered by labels) or of
// a plan (/plans/:plan/assessment). How many hosts are ready, with warnings, inhibited or
// not assessed (and why); inhibitors and warnings by kind with their hosts and the agent's
// remediation (data, shown as given); roles; what the hosts that can migrate now would
// download and an estimated duration with its assumptions; the CSV as a download.
import type { FindingKind } from '@yixing/scheduler';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation, useSearch } from 'wouter';
import type { ConsoleApiError } from '../api/api-error.ts';
import {
  fieldsOf,
  filtersFromSearch,
  LABEL_FIELDS,
  type ReportField,
  type ReportFilters,
  type ReportScope,
  searchOf,
} from '../assessment/report-query.ts';
import {
  counted,
  formatBytes,
  formatCount,
  formatDuration,
  groupKey,
  mibPerSecond,
  type ReportOverview,
  statusCounts,
} from '../assessment/report-shape.ts';
import { downloadCsv, useAssessment } from '../assessment/use-assessment.ts';
import { HostGroupDrillDown } from './assessment-hosts.tsx';
import { ErrorBanner } from './error-banner.tsx';
import './assessment-view.css';

export function AssessmentView({ params }: { params: { plan?: string } }) {
  const { t, i18n } = useTranslation();
  const scope: ReportScope = params.plan ? { kind: 'plan', planId: params.plan } : { kind: 'fleet' };
  const search = useSearch();
  const filters = filtersFromSearch(search, scope);
  const { report, error, loading, refresh } = useAssessment(scope, filters);
  const [downloading, setDownloading] = useState(false);
  const [downloadError, setDownloadError] = useState<ConsoleApiError | null>(null);
  const at = report
    ? new Intl.DateTimeFormat(i18n.language, { dateStyle: 'short', timeStyle: 'medium' }).format(new Date(report.generatedAt))
    : '';

  const download = (): void => {
    setDownloading(true);
    setDownloadError(null);
    downloadCsv(scope, filters)
      .catch((err: ConsoleApiError) => setDownloadError(err))
      .finally(() => setDownloading(false));
  };

  return (
    <section aria-labelledby="assessment-title" className="assessment-view">
      <div className="view-header">
        <h1 id="assessment-title">{scope.kind === 'plan' ? t('assessment.planTitle', { plan: scope.planId }) : t('assessment.title')}</h1>
        <div className="view-actions">
          <button type="button" onClick={refresh}>
            {t('assessment.refresh')}
          </button>
          <button type="button" onClick={download} disabled={downloading}>
            {downloading ? t('assessment.downloading') : t('assessment.downloadCsv')}
          </button>
        </div>
      </div>
      <p className="hint">
        {scope.kind === 'plan' ? t('assessment.planIntro') : t('assessment.intro')}
        {scope.kind === 'plan' && (
          <>
            {' '}
            <Link href={`/plans/${encodeURIComponent(scope.planId)}`}>{t('assessment.openPlan', { plan: scope.planId })}</Link>
          </>
        )}
      </p>
      <FilterForm scope={scope} filters={filters} search={search} />
      {error && <ErrorBanner error={error} />}
      {downloadError && <ErrorBanner error={downloadError} />}
      {loading && !report && <p>{t('assessment.loading')}</p>}
      {report && (
        <p className="hint generated" aria-live="polite">
          {t('assessment.generatedAt', { at })}
        </p>
      )}
      {report && <ReportBody report={report} scope={scope} filters={filters} />}
    </section>
  );
}

function FilterForm({ scope, filters, search }: { scope: ReportScope; filters: ReportFilters; search: string }) {
  const { t } = useTranslation();
  const [path, navigate] = useLocation();
  const fields = fieldsOf(scope);
  const onSubmit = (e: FormEvent<HTMLFormElement>): void => {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const next: ReportFilters = {};
    for (const f of fields) next[f] = String(data.get(f) ?? '');
    navigate(`${path}${searchOf(next)}`);
  };
  const input = (f: ReportField) => (
    <label key={f} className="field">
      <span>{t(`assessment.field.${f}`)}</span>
      <input name={f} defaultValue={filters[f] ?? ''} inputMode={(LABEL_FIELDS as readonly string[]).includes(f) ? 'text' : 'decimal'} />
    </label>
  );
  return (
    // Keyed by the address: Back/Forward or Clear shows the address's values again. Folded
    // away until used (a phone scrolls past nine fields otherwise); open while any is set.
    <details key={search} className="card assessment-filters" open={Object.keys(filters).length > 0}>
      <summary>
        <h2 id="filters-title">{t('assessment.filters')}</h2>
      </summary>
      <form onSubmit={onSubmit} aria-labelledby="filters-title">
        {scope.kind === 'fleet' && (
          <fieldset>
            <legend>{t('assessment.labels')}</legend>
            {LABEL_FIELDS.map(input)}
          </fieldset>
        )}
        <fieldset>
          <legend>{t('assessment.estimateInputs')}</legend>
          {fields.filter((f) => !(LABEL_FIELDS as readonly string[]).includes(f)).map(input)}
        </fieldset>
        <div className="form-actions">
          <button type="submit">{t('assessment.apply')}</button>
          <button type="button" onClick={() => navigate(path)}>
            {t('assessment.clear')}
          </button>
        </div>
      </form>
    </details>
  );
}

function ReportBody({ report: r, scope, filters }: { report: ReportOverview; scope: ReportScope; filters: ReportFilters }) {
  const { t, i18n } = useTranslation();
  const n = (x: number): string => formatCount(x, i18n.language);
  const c = (x: number) => counted(x, i18n.language);
  return (
    <>
      <section className="card" aria-labelledby="status-title">
        <h2 id="status-title">{t('assessment.statusTitle')}</h2>
        <p className="host-total">{t('assessment.hostTotal', c(r.counts.hosts))}</p>
        <ul className="status-counts">
          {statusCounts(r.counts).map((s) => (
            <li key={s.status} data-status={s.status} className={`status status-${s.status}`}>
              <span className="status-icon" aria-hidden="true">
                {t(`assessment.statusIcon.${s.status}`)}
              </span>
              <span className="status-name">{t(`assessment.status.${s.status}`)}</span>
              <strong className="status-count">{n(s.count)}</strong>
              <span className="status-share">{t('assessment.statusShare', { percent: s.percent })}</span>
            </li>
          ))}
        </ul>
        {r.counts.reused > 0 && <p className="hint">{t('assessment.reused', c(r.counts.reused))}</p>}
        {r.counts.truncated > 0 && <p className="hint">{t('assessment.truncated', c(r.counts.truncated))}</p>}
        {r.counts.notAssessed === r.counts.hosts && <p className="hint">{t('assessment.empty')}</p>}
      </section>

      {r.notAssessed.length > 0 && (
        <section className="card" aria-labelledby="not-assessed-title">
          <h2 id="not-assessed-title">{t('assessment.notAssessedTitle')}</h2>
          <ul className="reasons">
            {r.notAssessed.map((g) => {
              const what = t(`assessment.reason.${g.reason}`);
              return (
                <li key={g.reason} data-reason={g.reason}>
                  <span className="reason-name">{what}</span> <strong>{t('assessment.affected', c(g.hostCount))}</strong>
                  <HostGroupDrillDown group={{ key: groupKey.notAssessed(g.reason), ...g }} what={what} scope={scope} filters={filters} />
                </li>
              );
            })}
          </ul>
        </section>
      )}

      <FindingKinds kinds={r.inhibitors} which="inhibitor" scope={scope} filters={filters} />
      <FindingKinds kinds={r.warnings} which="warning" scope={scope} filters={filters} />

      <div className="summary">
        <section className="card" aria-labelledby="roles-title">
          <h2 id="roles-title">{t('assessment.rolesTitle')}</h2>
          {r.roles.length === 0 ? (
            <p>{t('assessment.noRoles')}</p>
          ) : (
            <ul className="roles">
              {r.roles.map((x) => (
                <li key={x.role} data-role={x.role}>
                  <code>{x.role}</code> {t('assessment.affected', c(x.hostCount))}
                </li>
              ))}
            </ul>
          )}
        </section>
        <MigrateNow report={r} />
        <Estimate report={r} />
      </div>
    </>
  );
}

function FindingKinds({
  kinds,
  which,
  scope,
  filters,
}: {
  kinds: FindingKind[];
  which: 'inhibitor' | 'warning';
  scope: ReportScope;
  filters: ReportFilters;
}) {
  const { t, i18n } = useTranslation();
  const id = `${which}s-title`;
  return (
    <section aria-labelledby={id} className={`findings findings-${which}`}>
      <h2 id={id}>{which === 'inhibitor' ? t('assessment.inhibitorsTitle') : t('assessment.warningsTitle')}</h2>
      {kinds.length === 0 && <p>{which === 'inhibitor' ? t('assessment.noInhibitors') : t('assessment.noWarnings')}</p>}
      <ul className="finding-kinds">
        {kinds.map((k) => (
          <li key={k.kind} className="card finding-kind" data-kind={k.kind}>
            <h3>
              <span aria-hidden="true">{which === 'inhibitor' ? '✕ ' : '⚠ '}</span>
              <code className="kind">{k.kind}</code>{' '}
              <span className={`badge severity-${k.severity}`}>
                {t('assessment.severityOf', { severity: t(`assessment.severity.${k.severity}`) })}
              </span>{' '}
              <strong className="kind-count">{t('assessment.affected', counted(k.hostCount, i18n.language))}</strong>
            </h3>
            <dl className="facts">
              <dt>{t('assessment.example')}</dt>
              <dd className="kind-title">{k.title}</dd>
              <dt>{t('assessment.remediation')}</dt>
              <dd className="remediation">{k.remediation || t('assessment.noRemediation')}</dd>
            </dl>
            <HostGroupDrillDown
              group={{ key: which === 'inhibitor' ? groupKey.inhibitor(k) : groupKey.warning(k), hostCount: k.hostCount, hosts: k.hosts }}
              what={k.kind}
              scope={scope}
              filters={filters}
            />
          </li>
        ))}
      </ul>
    </section>
  );
}

function MigrateNow({ report: r }: { report: ReportOverview }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return (
    <section className="card" aria-labelledby="migrate-title">
      <h2 id="migrate-title">{t('assessment.migrateTitle')}</h2>
      <dl className="facts">
        <dt>{t('assessment.migrateHosts')}</dt>
        <dd className="migrate-hosts">{formatCount(r.totals.hosts, lang)}</dd>
        <dt>{t('assessment.download')}</dt>
        <dd className="download-size">{formatBytes(r.totals.downloadBytes, lang)}</dd>
        <dt>{t('assessment.installed')}</dt>
        <dd className="install-size">{formatBytes(r.totals.installBytes, lang, true)}</dd>
        <dt>{t('assessment.packages')}</dt>
        <dd>
          {t('assessment.packageCounts', {
            upgrades: formatCount(r.totals.upgrades, lang),
            installs: formatCount(r.totals.installs, lang),
          })}
        </dd>
      </dl>
    </section>
  );
}

function Estimate({ report: r }: { report: ReportOverview }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const e = r.estimate;
  const m = e.model;
  return (
    <section className="card" aria-labelledby="estimate-title">
      <h2 id="estimate-title">{t('assessment.estimateTitle')}</h2>
      {e.hosts === 0 ? (
        <p>{t('assessment.noEstimate')}</p>
      ) : (
        <dl className="facts">
          <dt>{t('assessment.makespan')}</dt>
          <dd className="makespan">
            {t('assessment.makespanValue', { duration: formatDuration(e.makespanSeconds, lang), slots: formatCount(m.slots, lang) })}
          </dd>
          <dt>{t('assessment.longest')}</dt>
          <dd>{formatDuration(e.longestHostSeconds, lang)}</dd>
          <dt>{t('assessment.totalWork')}</dt>
          <dd>{formatDuration(e.totalHostSeconds, lang)}</dd>
        </dl>
      )}
      <h3>{t('assessment.assumptions')}</h3>
      <p className="assumptions">
        {t('assessment.assumptionList', {
          throughput: mibPerSecond(m.bytesPerSecond),
          perPackage: m.secondsPerPackage,
          fixed: m.fixedSeconds,
        })}
      </p>
      <p className="hint">{t('assessment.leavesOut')}</p>
    </section>
  );
}
