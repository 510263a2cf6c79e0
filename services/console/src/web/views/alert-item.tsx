// One alert in the alerts view: its severity and state in words, summary, where and since
// when, who acknowledged or resolved it, its labels, the failed step's log one link away,
// and the operator's two actions: acknowledge (confirmed first) and silence (a form
// prefilled with the alert's labels).
import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import { ConfirmDialog } from '../actions/confirm-dialog.tsx';
import { OfferedButton } from '../actions/offered-button.tsx';
import { type AlertView, alertStateOf, deepLinkOf, labelsInOrder, whereOf } from '../alerts/alert-list.ts';
import { alertOffers, whyNot } from '../alerts/alert-offers.ts';
import { API, postJson } from '../api/client.ts';
import { useCaller } from '../session/caller-context.tsx';
import { SeverityBadge } from './severity-badge.tsx';

const STATE_ICON = { firing: '◉', acknowledged: '✓', resolved: '○' } as const;

export interface AlertItemProps {
  alert: AlertView;
  /** The alert as the API answered an action. */
  onChanged: (a: AlertView) => void;
  /** Opens the silence form for these labels. */
  onSilence: (labels: Readonly<Record<string, string>>, opener: HTMLElement | null) => void;
}

export function AlertItem({ alert: a, onChanged, onSilence }: AlertItemProps) {
  const { t, i18n } = useTranslation();
  const caller = useCaller();
  const [confirming, setConfirming] = useState(false);
  const ackButton = useRef<HTMLButtonElement>(null);
  const silenceButton = useRef<HTMLButtonElement>(null);
  const date = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'short', timeStyle: 'medium' });
  const state = alertStateOf(a);
  const offers = alertOffers(a, caller?.role ?? null);
  const link = deepLinkOf(a);
  // A step's alert opens the step and its log; a plan's, the plan.
  const toStep = link?.includes('/steps/') ?? false;
  const name = a.labels.alertname ?? a.fingerprint;
  const summary = a.annotations.summary || name;
  const where = whereOf(a);
  const titleId = `alert-${a.fingerprint}-title`;
  const values = { name, where: where || name };
  return (
    <li className="alert-item" data-fingerprint={a.fingerprint} data-state={state}>
      <article aria-labelledby={titleId}>
        <div className="alert-head">
          <SeverityBadge severity={a.labels.severity} />
          <span className={`badge alert-state alert-state-${state}`} data-alert-state={state}>
            <span aria-hidden="true">{STATE_ICON[state]}</span> {t(`alerts.state.${state}`)}
          </span>
          <h3 id={titleId}>{summary}</h3>
        </div>
        <p className="alert-meta">
          {where && <span className="alert-where">{where}</span>}{' '}
          <span>{t('alerts.since', { at: date.format(new Date(a.startsAt)) })}</span>
          {a.ackedBy && a.ackedAt && (
            <span className="alert-acked"> · {t('alerts.ackedBy', { by: a.ackedBy, at: date.format(new Date(a.ackedAt)) })}</span>
          )}
          {a.status === 'resolved' && a.endsAt && (
            <span className="alert-resolved">
              {' '}
              ·{' '}
              {a.resolvedBy === 'rule' || !a.resolvedBy
                ? t('alerts.resolvedAt', { at: date.format(new Date(a.endsAt)) })
                : t('alerts.resolvedBy', { by: a.resolvedBy, at: date.format(new Date(a.endsAt)) })}
            </span>
          )}
        </p>
        {a.annotations.description && a.annotations.description !== summary && <p>{a.annotations.description}</p>}
        <ul className="alert-labels" aria-label={t('alerts.labels')}>
          {labelsInOrder(a.labels).map(([k, v]) => (
            <li key={k}>
              <code>
                {k}={v}
              </code>
            </li>
          ))}
        </ul>
        <div className="actions">
          {link && (
            <Link href={link} className="alert-link" aria-label={t(toStep ? 'alerts.openStepOf' : 'alerts.openPageOf', values)}>
              {t(toStep ? 'alerts.openStep' : 'alerts.openPage')}
            </Link>
          )}
          <OfferedButton
            ref={ackButton}
            label={t('alerts.ack.label')}
            name={t('alerts.ack.name', values)}
            reason={whyNot(t, offers.ack)}
            onClick={() => setConfirming(true)}
          />
          <OfferedButton
            ref={silenceButton}
            label={t('alerts.silence.label')}
            name={t('alerts.silence.name', values)}
            reason={whyNot(t, offers.silence)}
            onClick={() => onSilence(a.labels, silenceButton.current)}
          />
        </div>
      </article>
      {confirming && (
        <ConfirmDialog
          title={t('alerts.ack.title', values)}
          body={t('alerts.ack.body')}
          confirmLabel={t('alerts.ack.confirm')}
          onConfirm={async () => {
            onChanged(await postJson<AlertView>(`${API.alerting}/v1/alerts/${encodeURIComponent(a.fingerprint)}/ack`, {}));
          }}
          onClose={() => {
            setConfirming(false);
            ackButton.current?.focus();
          }}
        />
      )}
    </li>
  );
}
