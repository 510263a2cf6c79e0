// An alert's severity as an icon and a word (never colour alone).
import { useTranslation } from 'react-i18next';
import { SEVERITY_ICON, severityOf } from '../alerts/alert-list.ts';

export function SeverityBadge({ severity }: { severity: string | undefined }) {
  const { t } = useTranslation();
  const s = severityOf({ labels: severity === undefined ? {} : { severity } });
  return (
    <span className={`badge severity-${s}`} data-severity={s}>
      <span aria-hidden="true">{SEVERITY_ICON[s]}</span> {t(`alerts.severity.${s}`)}
    </span>
  );
}
