// An enrolled host's credential, renewed before it expires: at two thirds of its life the
// agent asks the enrolment service (as itself) for a new JWT for the same key, writes it
// to its credentials file (0600, atomically) and reconnects, so the server sees the new
// one long before the old one ends. A refusal (revoked) is logged; the credential then
// simply runs out. A credential without an expiry is never renewed.
import { readFile } from 'node:fs/promises';
import { decode } from '@nats-io/jwt';
import { type Bus, credsText, type Logger, splitCreds, UnavailableError, writeSecretFile } from '@yixing/common';

export interface CredentialRenewerDeps {
  bus: Bus;
  hostId: string;
  credsFile: string;
  log: Logger;
  /** Makes the connection present the renewed credential (nc.reconnect()). */
  reconnect: () => Promise<void>;
  clock?: () => number;
}

/** When to renew a JWT issued at `iat` that expires at `exp` (seconds): two thirds into its life. */
export function renewalDueMs(iat: number, exp: number | undefined): number | undefined {
  if (!exp) return undefined;
  return (iat + ((exp - iat) * 2) / 3) * 1000;
}

// setTimeout holds at most ~24.8 days; a later renewal waits in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

export class CredentialRenewer {
  readonly #d: CredentialRenewerDeps;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(deps: CredentialRenewerDeps) {
    this.#d = deps;
  }

  #now(): number {
    return (this.#d.clock ?? Date.now)();
  }

  async start(): Promise<void> {
    await this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #current(): Promise<{ jwt: string; seed: string; iat: number; exp: number | undefined; userKey: string }> {
    const { jwt, seed } = splitCreds(await readFile(this.#d.credsFile));
    const claims = decode(jwt);
    return { jwt, seed, iat: claims.iat, exp: claims.exp, userKey: claims.sub };
  }

  async #schedule(retryInMs?: number): Promise<void> {
    if (this.#stopped) return;
    const { iat, exp } = await this.#current();
    const due = renewalDueMs(iat, exp);
    if (due === undefined) return;
    const wait = Math.max(0, retryInMs ?? due - this.#now());
    this.#timer = setTimeout(
      () => {
        const step = wait > MAX_TIMER_MS ? this.#schedule() : this.renew();
        step.catch((err: Error) => this.#d.log.error({ err: err.message }, 'credential renewal not scheduled'));
      },
      Math.min(wait, MAX_TIMER_MS),
    );
    this.#timer.unref();
  }

  /** Renews now; on a retryable failure tries again later, well before the credential ends. */
  async renew(): Promise<boolean> {
    const cur = await this.#current();
    try {
      const reply = await this.#d.bus.request('credentialRenewal', { hostId: this.#d.hostId, userPublicKey: cur.userKey }, 10_000);
      if (reply.accepted) {
        const claims = decode(reply.userJwt);
        if (claims.sub !== cur.userKey || claims.name !== this.#d.hostId)
          throw new Error(`renewed credential is for ${claims.name} (${claims.sub})`);
        await writeSecretFile(this.#d.credsFile, credsText(reply.userJwt, new TextEncoder().encode(cur.seed)));
        this.#d.log.info(
          { hostId: this.#d.hostId, expires: claims.exp ? new Date(claims.exp * 1000).toISOString() : 'never' },
          'credential renewed',
        );
        await this.#d.reconnect();
        await this.#schedule();
        return true;
      }
      this.#d.log.error({ hostId: this.#d.hostId, reason: reply.reason }, 'credential renewal refused');
      if (!reply.retryable) return false;
    } catch (err) {
      if (!(err instanceof UnavailableError)) throw err;
      this.#d.log.warn({ hostId: this.#d.hostId, err: err.message }, 'credential renewal not answered; trying again');
    }
    // A sixth of what is left, at least a second, at most 10 minutes.
    const left = (cur.exp ?? 0) * 1000 - this.#now();
    await this.#schedule(Math.min(600_000, Math.max(1_000, left / 6)));
    return false;
  }
}
