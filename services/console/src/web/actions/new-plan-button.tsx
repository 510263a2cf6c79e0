// "New plan" on the fleet overview: a link to /plans/new for an operator; for a viewer a
// control marked disabled that says why (the page itself would refuse to create too).
import { useTranslation } from 'react-i18next';
import { Link, useLocation } from 'wouter';
import { useCaller } from '../session/caller-context.tsx';
import { createPlanOffer } from './action-rules.ts';
import { OfferedButton } from './offered-button.tsx';

export function NewPlanButton() {
  const { t } = useTranslation();
  const [, navigate] = useLocation();
  const offer = createPlanOffer(useCaller()?.role ?? null);
  if (offer.allowed) {
    return (
      <Link href="/plans/new" className="button-link primary">
        {t('actions.newPlan')}
      </Link>
    );
  }
  return <OfferedButton label={t('actions.newPlan')} reason={t(`actions.why.${offer.why}`)} onClick={() => navigate('/plans/new')} />;
}
