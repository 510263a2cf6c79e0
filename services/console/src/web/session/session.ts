// The signed-in token: kept in sessionStorage (this tab only, gone when it closes) and sent
// as Authorization: Bearer. A 401 from any API signs out and tells the login page why.

import type { Identity } from '@yixing/common/http';

/** Who the token belongs to, as GET /v1/whoami answers. */
export type Caller = Pick<Identity, 'name' | 'role' | 'via'>;

const TOKEN_KEY = 'yx.token';
const REASON_KEY = 'yx.signedOutBecause';

export type SignOutReason = 'expired';

export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  signIn(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.removeItem(REASON_KEY);
  },
  signOut(reason?: SignOutReason): void {
    sessionStorage.removeItem(TOKEN_KEY);
    if (reason) sessionStorage.setItem(REASON_KEY, reason);
    window.dispatchEvent(new Event('yx:signed-out'));
  },
  /** Why the last sign-out happened, once. */
  takeSignOutReason(): SignOutReason | null {
    const r = sessionStorage.getItem(REASON_KEY);
    sessionStorage.removeItem(REASON_KEY);
    return r === 'expired' ? r : null;
  },
};
