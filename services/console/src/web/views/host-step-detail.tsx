// The selected step: its state, attempts and duration; a failed step's error code and
// message; the step's last log lines, following them live while it runs.
import { useTranslation } from 'react-i18next';
import { durationText, type RunView, type StepNode } from '../hosts/step-graph.ts';
import { useStepLog } from '../hosts/use-step-log.ts';
import { ErrorBanner } from './error-banner.tsx';
import { STATE_ICONS, useNodeName } from './host-step-graph.tsx';

export function HostStepDetail({ hostId, run, node }: { hostId: string; run: RunView; node: StepNode }) {
  const { t, i18n } = useTranslation();
  const live = node.state === 'running';
  const { lines, error } = useStepLog(hostId, run.runId, node.step, live);
  const failed = node.state === 'failed';
  // The run's failure names the step that failed; the step's own record says the same or more.
  const code = failed ? node.last?.code || (run.failure?.step === node.step ? run.failure.code : '') : '';
  const message = failed ? node.last?.message || (run.failure?.step === node.step ? run.failure.message : '') : '';
  const nameOf = useNodeName();
  return (
    <section className={`card step-detail step-${node.state}`} aria-labelledby="step-detail-title" data-node={node.id}>
      <h2 id="step-detail-title">
        <span className="step-icon" aria-hidden="true">
          {STATE_ICONS[node.state]}
        </span>{' '}
        {nameOf(node)}
      </h2>
      <dl className="facts">
        {node.attempts > 0 && (
          <>
            <dt>{t('stepDetail.attempt')}</dt>
            <dd>{node.last?.attempt ?? node.attempts}</dd>
          </>
        )}
        {node.durationMs !== null && (
          <>
            <dt>{t('stepDetail.duration')}</dt>
            <dd className="duration">{durationText(node.durationMs, i18n.language)}</dd>
          </>
        )}
        {failed && code && (
          <>
            <dt>{t('stepDetail.code')}</dt>
            <dd className="error-code">
              <code>{code}</code>
            </dd>
          </>
        )}
        {failed && message && (
          <>
            <dt>{t('stepDetail.message')}</dt>
            <dd className="error-message">{message}</dd>
          </>
        )}
      </dl>
      {node.last === null && !live && <p>{t('stepDetail.never')}</p>}
      <h3 id="step-log-title">{live ? t('stepDetail.liveLog') : t('stepDetail.log')}</h3>
      {error && <ErrorBanner error={error} />}
      {lines === null && !error && <p>{t('host.loading')}</p>}
      {lines !== null && lines.length === 0 && <p>{t('stepDetail.noLog')}</p>}
      {lines !== null && lines.length > 0 && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region is reached by keyboard to scroll it
        <pre className="step-log" role="log" aria-labelledby="step-log-title" aria-live={live ? 'polite' : 'off'} tabIndex={0}>
          {lines.map((l) => (
            <span key={l.seq} className={`log-line log-${l.source}`}>
              {l.text}
              {'\n'}
            </span>
          ))}
        </pre>
      )}
    </section>
  );
}
