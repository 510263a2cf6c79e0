// Enrolment and revocation. A host asks on `yx.v1.enrol.<host>` (as the enrolment
// identity, with its token's secret and its own public key); the token is checked,
// consumed by one insert, and the host gets a user JWT named by its host id from the
// fleet account's scoped `agent` signing key. Its earlier credentials are revoked then:
// one live credential per host. Revoking a host marks its credentials and pushes the
// account JWT; at start and every minute every revocation on record is pushed again if
// the server lacks it (level-triggered); before that, at start, the account's agent
// template is brought up to this version's (AccountRegistrar.catchUp).
//
// An account update drops the replies of requests in flight across the account import
// (seen: an enrolment reply sent after a push never arrived), so the reply goes out
// before anything is pushed, and a host that asks again with the same token and key (its
// reply was lost) is answered again rather than refused.

import type { Subscription } from '@nats-io/transport-node';
import {
  type Bus,
  clip,
  enrolSecretDigest,
  formatEnrolToken,
  issueAgentJwt,
  type Logger,
  type MessageOf,
  newEnrolSecret,
  publicKeyOfSeed,
  type ReplyInitOf,
  UnavailableError,
} from '@yixing/common';
import type { AccountRegistrar } from './account-registrar.ts';
import type { EnrolStore } from './enrol.store.ts';
import { decideEnrolment, decideRenewal, revocationsInForce } from './enrol-decision.ts';

export interface EnrolServiceDeps {
  bus: Bus;
  store: EnrolStore;
  registrar: AccountRegistrar;
  log: Logger;
  /** The fleet account (issuer of agents' JWTs) and its scoped agent signing key. */
  accountPublicKey: string;
  agentSigningSeed: string;
  /** The enrolment identity's bearer JWT, which every token carries. */
  enrolJwt: string;
  /** How long an agent's JWT lives (hosts renew it before); none: forever, and revocations are kept forever. */
  credentialTtlMs?: number;
  /** How long past a revoked credential's last possible expiry its revocation is kept (clock skew). */
  clockMarginMs?: number;
  clock?: () => number;
}

export const ENROL_QUEUE = 'yx-enrol';

export class EnrolService {
  readonly #d: EnrolServiceDeps;
  #sub: Subscription | undefined;
  #timer: NodeJS.Timeout | undefined;
  #renewals: Subscription | undefined;

  constructor(deps: EnrolServiceDeps) {
    this.#d = deps;
  }

  #now(): Date {
    return new Date((this.#d.clock ?? Date.now)());
  }

  /**
   * Brings the fleet account up to this version's agent template, pushes every revocation
   * on record, then answers enrolment requests.
   */
  async start(reconcileEveryMs = 60_000): Promise<void> {
    await this.#d.registrar.catchUp(publicKeyOfSeed(this.#d.agentSigningSeed));
    await this.reconcile();
    this.#sub = this.#d.bus.subscribe(
      'enrolRequest',
      {},
      async (req, d) => {
        const { reply, afterReply } = await this.enrol(req);
        d.respond(reply);
        await afterReply();
      },
      { queue: ENROL_QUEUE },
    );
    this.#renewals = this.#d.bus.subscribe('credentialRenewal', {}, async (req, d) => d.respond(await this.renew(req)), {
      queue: ENROL_QUEUE,
    });
    this.#timer = setInterval(() => {
      this.reconcile().catch((err: Error) => this.#d.log.warn({ err: err.message }, 'revocations not pushed; trying again'));
    }, reconcileEveryMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#sub?.unsubscribe();
    this.#renewals?.unsubscribe();
  }

  /** Pushes the revocations still in force, and drops those whose JWTs have all expired. */
  async reconcile(): Promise<{ added: number; pruned: number; total: number }> {
    const { keep, prune } = revocationsInForce(await this.#d.store.revoked(), this.#now(), this.#d.clockMarginMs);
    return this.#d.registrar.revoke(keep, prune);
  }

  #expiry(now: Date, ttlMs: number | null | undefined): { expiresAt?: Date } {
    return ttlMs ? { expiresAt: new Date(now.getTime() + ttlMs) } : {};
  }

  /** A new JWT for a credential on record, for the host that holds it; same key, same lifetime. */
  async renew(req: MessageOf<'credentialRenewal'>): Promise<ReplyInitOf<'credentialRenewal'>> {
    try {
      const enrolment = await this.#d.store.findEnrolment(req.userPublicKey);
      const decision = decideRenewal(enrolment, req);
      if (!decision.ok)
        return { hostId: req.hostId, accepted: false, reason: clip('enrolReply', 'reason', decision.reason), retryable: false };
      const userJwt = await issueAgentJwt({
        hostId: req.hostId,
        userPublicKey: req.userPublicKey,
        accountPublicKey: this.#d.accountPublicKey,
        agentSigningSeed: this.#d.agentSigningSeed,
        ...this.#expiry(this.#now(), enrolment?.ttlMs),
      });
      return { hostId: req.hostId, accepted: true, reason: '', userJwt, retryable: false };
    } catch (err) {
      this.#d.log.error({ hostId: req.hostId, err: (err as Error).message }, 'renewal failed');
      const reason = clip('enrolReply', 'reason', `renewal failed: ${(err as Error).message}`);
      return { hostId: req.hostId, accepted: false, reason, retryable: err instanceof UnavailableError };
    }
  }

  /** One-time tokens, one per host, valid for `ttlMs`. */
  async createTokens(hostIds: string[], ttlMs: number, actor: string): Promise<{ hostId: string; token: string }[]> {
    const out: { hostId: string; token: string }[] = [];
    const now = this.#now();
    for (const hostId of hostIds) {
      const secret = newEnrolSecret();
      await this.#d.store.addToken({
        _id: enrolSecretDigest(secret),
        hostId,
        createdAt: now,
        expiresAt: new Date(now.getTime() + ttlMs),
        createdBy: actor,
      });
      out.push({ hostId, token: formatEnrolToken(secret, this.#d.enrolJwt) });
    }
    return out;
  }

  /** The reply to a request, and what to do once it is sent (revoke the host's earlier credentials). */
  async enrol(req: MessageOf<'enrolRequest'>): Promise<{ reply: ReplyInitOf<'enrolRequest'>; afterReply: () => Promise<void> }> {
    const refuse = (reason: string, retryable = false) => ({
      reply: { hostId: req.hostId, accepted: false, reason: clip('enrolReply', 'reason', reason), retryable },
      afterReply: async () => undefined,
    });
    try {
      const digest = enrolSecretDigest(req.token);
      const now = this.#now();
      const decision = decideEnrolment(await this.#d.store.findToken(digest), req, now);
      if (!decision.ok) return refuse(decision.reason);
      const use = await this.#d.store.consume({ _id: digest, hostId: req.hostId, userKey: req.userPublicKey, at: now });
      if (use === 'used') return refuse('the token was used already');
      const userJwt = await issueAgentJwt({
        hostId: req.hostId,
        userPublicKey: req.userPublicKey,
        accountPublicKey: this.#d.accountPublicKey,
        agentSigningSeed: this.#d.agentSigningSeed,
        ...this.#expiry(now, this.#d.credentialTtlMs),
      });
      await this.#d.store.recordEnrolment(req.userPublicKey, req.hostId, now, this.#d.credentialTtlMs || null);
      const earlier = await this.#d.store.activeKeys(req.hostId, req.userPublicKey);
      await this.#d.store.markRevoked(earlier, now, `re-enrolment of ${req.hostId}`);
      this.#d.log.info({ hostId: req.hostId, userKey: req.userPublicKey, revokedEarlier: earlier.length, use }, 'host enrolled');
      return {
        reply: { hostId: req.hostId, accepted: true, reason: '', userJwt, retryable: false },
        afterReply: async () => {
          if (earlier.length > 0) await this.#d.registrar.revoke(earlier.map((userKey) => ({ userKey, revokedAt: now })));
        },
      };
    } catch (err) {
      this.#d.log.error({ hostId: req.hostId, err: (err as Error).message }, 'enrolment failed');
      return refuse(`enrolment failed: ${(err as Error).message}`, err instanceof UnavailableError);
    }
  }

  /** Revokes every credential of the host; resolves once the server refuses them. */
  async revokeHost(hostId: string, actor: string): Promise<{ revoked: number }> {
    const keys = await this.#d.store.activeKeys(hostId);
    await this.#revokeKeys(keys, actor);
    this.#d.log.info({ hostId, revoked: keys.length, actor }, 'host revoked');
    return { revoked: keys.length };
  }

  async #revokeKeys(keys: string[], by: string): Promise<void> {
    const at = this.#now();
    await this.#d.store.markRevoked(keys, at, by);
    await this.#d.registrar.revoke(keys.map((userKey) => ({ userKey, revokedAt: at })));
  }
}
