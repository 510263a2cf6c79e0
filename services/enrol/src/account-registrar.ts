// Pushes the fleet account's JWT with its revocations to NATS (the full resolver takes it
// at once and closes the revoked users' connections). Connected as the system account's
// `registrar`; signs with the operator's signing key. The current JWT is looked up from
// the server and only its revocations change, so whatever else an administrator put in
// the account stays. Pushes are serialized: two concurrent ones could drop each other's.
// At start it also brings the account's agent template (limits, exports) up to this
// version's, keeping the revocations: a server running an older chain takes it at once.
import { type Account, decode } from '@nats-io/jwt';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  type FleetAccountPart,
  fleetAccountClaims,
  type Logger,
  signAccount,
  UnavailableError,
  upgradeFleetAccount,
  YxError,
} from '@yixing/common';
import { revocationsToAdd } from './enrol-decision.ts';

/** The server refused the account JWT (a bad signature, a key it does not trust). */
export class AccountUpdateRefusedError extends YxError {
  readonly code = 'ACCOUNT_UPDATE_REFUSED';
  readonly retryable = false;
}

interface ClaimUpdateResponse {
  data?: { code?: number; message?: string };
  error?: { code?: number; description?: string };
}

export interface RegistrarDeps {
  /** A system-account connection (the `registrar` identity). */
  nc: NatsConnection;
  accountPublicKey: string;
  operatorSigningSeed: string;
  log: Logger;
  timeoutMs?: number;
}

export class AccountRegistrar {
  readonly #d: RegistrarDeps;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(deps: RegistrarDeps) {
    this.#d = deps;
  }

  /** The account JWT as the server has it. */
  async current(): Promise<{ jwt: string; name: string; claims: Partial<Account> }> {
    const msg = await this.#d.nc
      .request(`$SYS.REQ.ACCOUNT.${this.#d.accountPublicKey}.CLAIMS.LOOKUP`, '', { timeout: this.#d.timeoutMs ?? 5_000 })
      .catch((err: unknown) => {
        throw new UnavailableError(`cannot look up the fleet account's JWT: ${(err as Error).message}`, { cause: err });
      });
    const jwt = msg.string();
    if (!jwt) throw new UnavailableError(`the server does not know account ${this.#d.accountPublicKey}`);
    const decoded = decode<Account>(jwt);
    return { jwt, name: decoded.name, claims: decoded.nats };
  }

  /**
   * Makes the account JWT refuse every given credential, and forget the `prune` ones (their
   * JWTs have all expired); resolves once the server took it.
   */
  revoke(revoked: { userKey: string; revokedAt: Date }[], prune: string[] = []): Promise<{ added: number; pruned: number; total: number }> {
    return this.#serialized(() => this.#revoke(revoked, prune));
  }

  /**
   * Brings the server's account JWT up to this version's agent template (issued by the
   * agents' signing key `agentSigningKey`), limits and exports, keeping everything else;
   * resolves with what changed (nothing: no push).
   */
  catchUp(agentSigningKey: string): Promise<FleetAccountPart[]> {
    return this.#serialized(async () => {
      const { name, claims } = await this.current();
      const up = upgradeFleetAccount(claims, fleetAccountClaims(agentSigningKey));
      if (!up) return [];
      const bytes = await this.#push(name, up.claims);
      this.#d.log.info({ changed: up.changed, bytes }, 'fleet account brought up to this version and pushed');
      return up.changed;
    });
  }

  #serialized<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(op);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #revoke(
    revoked: { userKey: string; revokedAt: Date }[],
    prune: string[],
  ): Promise<{ added: number; pruned: number; total: number }> {
    const { name, claims } = await this.current();
    const add = revocationsToAdd(claims.revocations, revoked);
    const added = Object.keys(add).length;
    const revocations: Record<string, number> = { ...claims.revocations, ...add };
    const pruned = prune.filter((k) => k in revocations && !(k in add)).length;
    for (const k of prune) if (!(k in add)) delete revocations[k];
    if (added === 0 && pruned === 0) return { added, pruned, total: Object.keys(revocations).length };
    const bytes = await this.#push(name, { ...claims, revocations });
    this.#d.log.info({ added, pruned, total: Object.keys(revocations).length, bytes }, 'fleet account revocations pushed');
    return { added, pruned, total: Object.keys(revocations).length };
  }

  /** Signs the account's claims and pushes them; resolves with the JWT's size once the server took it. */
  async #push(name: string, claims: Partial<Account>): Promise<number> {
    const jwt = await signAccount(name, this.#d.accountPublicKey, claims, this.#d.operatorSigningSeed);
    const reply = await this.#d.nc.request('$SYS.REQ.CLAIMS.UPDATE', jwt, { timeout: this.#d.timeoutMs ?? 5_000 }).catch((err: unknown) => {
      throw new UnavailableError(`cannot push the fleet account's JWT: ${(err as Error).message}`, { cause: err });
    });
    const res = reply.json<ClaimUpdateResponse>();
    if (res.error || res.data?.code !== 200) {
      throw new AccountUpdateRefusedError(`the server refused the account JWT: ${res.error?.description ?? JSON.stringify(res)}`, {
        details: { bytes: jwt.length },
      });
    }
    return jwt.length;
  }
}
