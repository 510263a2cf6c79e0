// Who is signed in, for any view: the shell asks GET /v1/whoami and provides the answer;
// a view reads it to show controls the role may not use as disabled, with the reason.
// The API stays the authority: a control shown enabled can still be refused (a 403).
import { createContext, useContext } from 'react';
import type { Caller } from './session.ts';

const CallerContext = createContext<Caller | null>(null);

export const CallerProvider = CallerContext.Provider;

/** The signed-in caller; null until whoami answers. */
export const useCaller = (): Caller | null => useContext(CallerContext);
