// The host's assessment in its run: when it was made, what would block or warn (inhibitors
// first, with each remediation), what the upgrade would download and change, the roles
// detected. Finding titles and remediations are the agent's words (data, not labels).
import { useTranslation } from 'react-i18next';
import { formatBytes } from '../assessment/report-shape.ts';
import type { HostAssessment } from '../hosts/host-assessment.ts';

export function HostAssessmentCard({ assessment: a }: { assessment: HostAssessment }) {
  const { t, i18n } = useTranslation();
  const date = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'short', timeStyle: 'medium' });
  return (
    <section className="card host-assessment" aria-labelledby="host-assessment-title">
      <h2 id="host-assessment-title">{t('hostAssessment.title')}</h2>
      {a.state === 'none' && <p>{t('hostAssessment.none')}</p>}
      {a.state === 'unreadable' && (
        <p className="error-banner" role="status">
          {t('hostAssessment.unreadable', { reason: a.reason })}
        </p>
      )}
      {a.state === 'read' && (
        <>
          <p className="assessment-verdict" data-verdict={a.inhibitors > 0 ? 'inhibited' : a.findings.length > 0 ? 'warnings' : 'ready'}>
            {a.inhibitors > 0
              ? t('hostAssessment.inhibited', { count: a.inhibitors })
              : a.findings.length > 0
                ? t('hostAssessment.warnings', { count: a.findings.length })
                : t('hostAssessment.ready')}
          </p>
          <dl className="facts">
            {a.finishedAt && (
              <>
                <dt>{t('hostAssessment.at')}</dt>
                <dd>{date.format(new Date(a.finishedAt))}</dd>
              </>
            )}
            {a.report.preview && (
              <>
                <dt>{t('hostAssessment.packages')}</dt>
                <dd>{t('hostAssessment.packageCounts', { upgrades: a.report.preview.upgrades, installs: a.report.preview.installs })}</dd>
                <dt>{t('hostAssessment.download')}</dt>
                <dd className="assessment-download">{formatBytes(a.report.preview.downloadBytes, i18n.language)}</dd>
                <dt>{t('hostAssessment.install')}</dt>
                <dd>{formatBytes(a.report.preview.installBytes, i18n.language, true)}</dd>
              </>
            )}
            <dt>{t('hostAssessment.roles')}</dt>
            <dd>{a.report.roles.length > 0 ? a.report.roles.join(', ') : t('host.noRoles')}</dd>
          </dl>
          {a.report.truncated && <p className="hint">{t('hostAssessment.truncated')}</p>}
          {a.findings.length > 0 && (
            <table className="findings">
              <caption>{t('hostAssessment.findings')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('hostAssessment.column.finding')}</th>
                  <th scope="col">{t('hostAssessment.column.severity')}</th>
                  <th scope="col">{t('hostAssessment.column.remediation')}</th>
                </tr>
              </thead>
              <tbody>
                {a.findings.map((f) => (
                  <tr key={f.id} data-finding={f.id} data-inhibitor={f.inhibitor}>
                    <th scope="row" data-label={t('hostAssessment.column.finding')}>
                      {f.inhibitor && (
                        <span className="badge finding-inhibitor">
                          <span aria-hidden="true">✕ </span>
                          {t('hostAssessment.inhibitor')}
                        </span>
                      )}{' '}
                      {f.title || f.id} <code className="finding-id">{f.id}</code>
                    </th>
                    <td data-label={t('hostAssessment.column.severity')}>{t(`hostAssessment.severity.${f.severity}`)}</td>
                    <td data-label={t('hostAssessment.column.remediation')} className="remediation">
                      {f.remediation || t('hostAssessment.noRemediation')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
