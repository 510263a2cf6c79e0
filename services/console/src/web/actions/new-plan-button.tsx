// "New plan" on the fleet overview: a link to /plans/new for an operator; for a viewer a
// control marked disabled that says why (the page itself would refuse to create too).
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import { useCaller } from '../session/caller-context.tsx';
import { createPlanOffer } from './action-rules.ts';
import './actions.css';

export function NewPlanButton() {
  const { t } = useTranslation();
  const offer = createPlanOffer(useCaller()?.role ?? null);
  const reasonId = useId();
  if (offer.allowed) {
    return (
      <Link href="/plans/new" className="button-link primary">
        {t('actions.newPlan')}
      </Link>
    );
  }
  return (
    <span className="actions">
      <button type="button" className="action" aria-disabled aria-describedby={reasonId} title={t(`actions.why.${offer.why}`)}>
        {t('actions.newPlan')}
      </button>
      <span id={reasonId} className="visually-hidden">
        {t(`actions.why.${offer.why}`)}
      </span>
    </span>
  );
}
