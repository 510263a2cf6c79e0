// Which alert actions a caller may take, and if not, why (a catalog key under
// alerts.why). The alerting API decides (route-roles.ts: acknowledging, silencing and
// expiring are an operator's; a resolved alert answers 409); these mirror it so the page
// does not offer what it would refuse. Pure.
import type { Role } from '@yixing/common/http';
import type { TFunction } from 'i18next';
import type { AlertView, SilenceView } from './alert-list.ts';

export type AlertRefusal = 'role' | 'signingIn' | 'resolved' | 'acknowledged' | 'expired';
export type AlertOffer = { allowed: true } | { allowed: false; why: AlertRefusal };

const yes: AlertOffer = { allowed: true };
const no = (why: AlertRefusal): AlertOffer => ({ allowed: false, why });

const byRole = (role: Role | null): AlertOffer | null =>
  role === null ? no('signingIn') : role === 'operator' || role === 'admin' ? null : no('role');

export function alertOffers(a: Pick<AlertView, 'status' | 'acknowledged'>, role: Role | null): { ack: AlertOffer; silence: AlertOffer } {
  const r = byRole(role);
  return {
    ack: r ?? (a.status === 'resolved' ? no('resolved') : a.acknowledged ? no('acknowledged') : yes),
    // A resolved alert can still be silenced: it may fire again.
    silence: r ?? yes,
  };
}

/** Creating a silence of one's own. */
export const newSilenceOffer = (role: Role | null): AlertOffer => byRole(role) ?? yes;

/** Expiring a silence: one already expired has nothing left to end. */
export const expireOffer = (s: Pick<SilenceView, 'state'>, role: Role | null): AlertOffer =>
  byRole(role) ?? (s.state === 'expired' ? no('expired') : yes);

/** Why an action is not offered, in the caller's words (alerts.why); undefined when it is. */
export const whyNot = (t: TFunction, o: AlertOffer): string | undefined => (o.allowed ? undefined : t(`alerts.why.${o.why}`));
