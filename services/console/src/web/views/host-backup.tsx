// The backup the chosen run relies on: the backup service's record of it (size as taken
// and as stored, sealed or not, verified when, kept until when), beside the rollback
// strategy the precheck chose. Before the run's backup step there is none to show.
import { useTranslation } from 'react-i18next';
import { formatBytes } from '../assessment/report-shape.ts';
import { useBackup } from '../hosts/use-backup.ts';
import { ErrorBanner } from './error-banner.tsx';

export function HostBackupCard({
  backupId,
  verified,
  rollbackStrategy,
}: {
  backupId: string;
  verified: boolean;
  rollbackStrategy: string | null;
}) {
  const { t, i18n } = useTranslation();
  const { backup, error } = useBackup(backupId, verified);
  const date = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'short', timeStyle: 'medium' });
  return (
    <section className="card host-backup" aria-labelledby="host-backup-title">
      <h2 id="host-backup-title">{t('hostBackup.title')}</h2>
      <dl className="facts">
        <dt>{t('host.rollbackStrategy')}</dt>
        <dd className="rollback-strategy">{rollbackStrategy ?? t('host.notReported')}</dd>
        <dt>{t('hostBackup.id')}</dt>
        <dd className="backup-id">{backupId || t('hostBackup.none')}</dd>
        {backup && (
          <>
            <dt>{t('hostBackup.state')}</dt>
            <dd>
              <span className={`badge backup-${backup.state}`} data-backup-state={backup.state}>
                <span aria-hidden="true">{backup.state === 'verified' ? '✓ ' : backup.state === 'failed' ? '✕ ' : ''}</span>
                {t(`hostBackup.stateName.${backup.state}`)}
              </span>
              {backup.state === 'failed' && backup.reason && <span className="backup-reason"> {backup.reason}</span>}
            </dd>
            {backup.verifiedAt && (
              <>
                <dt>{t('hostBackup.verifiedAt')}</dt>
                <dd>{date.format(new Date(backup.verifiedAt))}</dd>
              </>
            )}
            <dt>{t('hostBackup.size')}</dt>
            <dd className="backup-size">
              {t('hostBackup.sizes', {
                size: formatBytes(backup.sizeBytes, i18n.language),
                stored: formatBytes(backup.storedBytes, i18n.language),
              })}
            </dd>
            <dt>{t('hostBackup.sealed')}</dt>
            <dd className="backup-sealed" data-sealed={backup.encrypted}>
              {backup.encrypted ? t('hostBackup.sealedWith', { key: backup.keyId ?? '' }) : t('hostBackup.notSealed')}
            </dd>
            <dt>{t('hostBackup.contents')}</dt>
            <dd>{t('hostBackup.contentsOf', { os: backup.osRelease, count: backup.packageCount })}</dd>
            <dt>{t('hostBackup.created')}</dt>
            <dd>{date.format(new Date(backup.createdAt))}</dd>
            {backup.expiresAt && (
              <>
                <dt>{t('hostBackup.expires')}</dt>
                <dd>{date.format(new Date(backup.expiresAt))}</dd>
              </>
            )}
          </>
        )}
      </dl>
      {error && <ErrorBanner error={error} />}
    </section>
  );
}
