// The fleet account's (YX) claims as this version makes them, and how a chain made by an
// earlier version catches up. A chain is made once and kept (credentials handed out stay
// valid), so when a version changes the agents' template, the account JWT found must be
// re-signed with it, keeping its revocations and its keys, and named identities whose
// credentials carry other permissions than this version's get new ones. Decisions only:
// bus-trust.ts (files) and the registrar (a running server) read, sign and write.
import { isDeepStrictEqual } from 'node:util';
import { type Account, decode, type Export, newScopedSigner, type OperatorLimits, type SigningKey, type User } from '@nats-io/jwt';
import { catalog } from '../gen/catalog.ts';
import { agentPermissionTemplate, type BusPermissions } from './bus-identities.ts';

/** Role of the agents' scoped signing key in the fleet account. */
export const AGENT_SIGNING_ROLE = 'agent';

export const UNLIMITED = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };

/** What this version puts in the fleet account besides its plain signing key. */
export interface FleetAccountClaims {
  limits: OperatorLimits;
  exports: Export[];
  /** The agents' scoped signing key, its template every agent's permissions. */
  agentSigner: SigningKey;
}

export function fleetAccountClaims(agentSigningKey: string): FleetAccountClaims {
  return {
    limits: { ...UNLIMITED, disk_storage: -1, mem_storage: -1, streams: -1, consumer: -1 },
    exports: [{ name: 'enrol', subject: catalog.enrolRequest.filter, type: 'service', response_type: 'Singleton' }],
    agentSigner: newScopedSigner(agentSigningKey, AGENT_SIGNING_ROLE, agentPermissionTemplate()),
  };
}

/** The parts of the fleet account an upgrade may change. */
export type FleetAccountPart = 'agent template' | 'limits' | 'exports';

/** As a JWT carries it: what JSON drops (undefined) dropped, so a decoded value compares equal. */
const asJson = <T>(v: T): T => JSON.parse(JSON.stringify(v ?? null)) as T;

/** A permission set with its lists sorted and absent lists empty: order means nothing to NATS. */
function canonical(p: Record<string, unknown>): Record<string, unknown> {
  const list = (l: { allow?: string[]; deny?: string[] } | undefined) => ({
    allow: [...(l?.allow ?? [])].sort(),
    deny: [...(l?.deny ?? [])].sort(),
  });
  return { ...asJson(p), pub: list(p.pub as never), sub: list(p.sub as never), resp: asJson(p.resp ?? null) };
}

/** Whether two permission sets (templates or user claims) allow the same. */
export function samePermissions(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return isDeepStrictEqual(canonical(a), canonical(b));
}

const isScoped = (k: SigningKey | string): k is SigningKey => typeof k === 'object' && k !== null;

/**
 * The fleet account's claims brought up to this version's, or undefined when they are
 * already: the agents' scoped key gets the current template (added if missing), limits and
 * exports are this version's; every other key, the revocations and anything else an
 * administrator put in stay as they are.
 */
export function upgradeFleetAccount(
  held: Partial<Account>,
  wanted: FleetAccountClaims,
): { claims: Partial<Account>; changed: FleetAccountPart[] } | undefined {
  const keys = held.signing_keys ?? [];
  const agent = keys.find((k) => isScoped(k) && k.key === wanted.agentSigner.key) as SigningKey | undefined;
  const changed: FleetAccountPart[] = [];
  if (!agent || agent.role !== wanted.agentSigner.role || !samePermissions(agent.template, wanted.agentSigner.template))
    changed.push('agent template');
  if (!isDeepStrictEqual(asJson(held.limits), asJson(wanted.limits))) changed.push('limits');
  if (!isDeepStrictEqual(asJson(held.exports), asJson(wanted.exports))) changed.push('exports');
  if (changed.length === 0) return undefined;
  const signingKeys = agent
    ? keys.map((k) => (isScoped(k) && k.key === wanted.agentSigner.key ? wanted.agentSigner : k))
    : [...keys, wanted.agentSigner];
  return { claims: { ...held, limits: wanted.limits, exports: wanted.exports, signing_keys: signingKeys }, changed };
}

/** Whether a user's claims (decoded from its JWT) allow other than the wanted permissions. */
export function userPermissionsDiffer(held: Partial<User>, wanted: BusPermissions): boolean {
  return !samePermissions({ pub: held.pub, sub: held.sub, resp: held.resp }, { ...wanted });
}

/**
 * The newest of some JWTs of one account, by issue time; on a tie the later one given
 * (nats-server too takes an equally old JWT over the one it has).
 */
export function newestJwt(jwts: readonly [string, ...string[]]): string {
  return jwts.reduce((newest, jwt) => (decode(jwt).iat >= decode(newest).iat ? jwt : newest));
}
