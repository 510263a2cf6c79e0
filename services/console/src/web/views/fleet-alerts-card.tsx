// The overview's "alerts firing" card: how many, by severity (an icon and a word each), and
// the newest few with where they happened and since when, each opening its failed step;
// the whole list one link away. Asked for again every few seconds (the alerting API has no
// event stream).
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import { deepLinkOf, firingDigest, SEVERITIES, whereOf } from '../alerts/alert-list.ts';
import { useFiringAlerts } from '../alerts/use-alerts.ts';
import { ErrorBanner } from './error-banner.tsx';
import { SeverityBadge } from './severity-badge.tsx';
import './alerts-view.css';

const NEWEST = 3;

export function FleetAlertsCard() {
  const { t, i18n } = useTranslation();
  const { alerts, more, error } = useFiringAlerts();
  const digest = alerts ? firingDigest(alerts, NEWEST) : null;
  const date = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'short', timeStyle: 'short' });
  const count = alerts?.length ?? 0;
  return (
    <section aria-labelledby="alerts-card-title" className="card alerts-card">
      <h2 id="alerts-card-title">{t('alerts.card.title')}</h2>
      {error && <ErrorBanner error={error} />}
      {!digest && !error && <p>{t('alerts.loading')}</p>}
      {digest && (
        <>
          <p className="alerts-count" data-count={count}>
            {count === 0 ? t('alerts.card.none') : t(more ? 'alerts.card.countMore' : 'alerts.card.count', { count })}
          </p>
          {count > 0 && (
            <ul className="state-counts">
              {SEVERITIES.filter((s) => digest.bySeverity[s] > 0).map((s) => (
                <li key={s} data-severity={s}>
                  <SeverityBadge severity={s} /> {digest.bySeverity[s]}
                </li>
              ))}
            </ul>
          )}
          {digest.newest.length > 0 && (
            <ul className="alert-digest">
              {digest.newest.map((a) => {
                const link = deepLinkOf(a);
                const summary = a.annotations.summary || a.labels.alertname || a.fingerprint;
                return (
                  <li key={a.fingerprint} data-fingerprint={a.fingerprint}>
                    <SeverityBadge severity={a.labels.severity} /> {link ? <Link href={link}>{summary}</Link> : <span>{summary}</span>}
                    <div className="alert-meta">
                      {whereOf(a) && <span className="alert-where">{whereOf(a)}</span>}{' '}
                      <span>{t('alerts.since', { at: date.format(new Date(a.startsAt)) })}</span>
                    </div>
                  </li>
                );
              })}
            </ul>
          )}
        </>
      )}
      <Link href="/alerts">{t('alerts.card.viewAll')}</Link>
    </section>
  );
}
