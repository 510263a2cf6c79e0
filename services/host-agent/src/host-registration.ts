// A host's registration with the scheduler: its identity, facts, labels and driver, sent
// until accepted, and sent again when the facts it reads (roles, the assessed facts'
// digest) change.
import { type Bus, type HostFacts, type Logger, patterns } from '@yixing/common';
import type { AgentIdentity, RefreshedFacts } from './agent-deps.ts';

export interface RegistrationDeps {
  bus: Bus;
  identity: AgentIdentity;
  driver: 'simulate' | 'apt' | 'dnf';
  bootId: () => string;
  log: Logger;
  now: () => number;
  facts?: (() => Promise<RefreshedFacts>) | undefined;
  registerRetryMs?: number | undefined;
  /** The agent is stopping: registration gives up. */
  stopped: () => boolean;
  /** The release a finished migration left, which replaces the identity's. */
  migratedFacts: () => Pick<Partial<HostFacts>, 'osId' | 'osVersion'>;
}

export class HostRegistration {
  readonly #d: RegistrationDeps;
  #registered = false;
  #facts: RefreshedFacts | undefined;
  /** The digest the scheduler accepted last. */
  #registeredDigest: string | undefined;
  #registering: Promise<void> | undefined;
  #refreshing = false;

  constructor(deps: RegistrationDeps) {
    this.#d = deps;
  }

  get registered(): boolean {
    return this.#registered;
  }

  /** The digest of the facts read last (undefined before any, or without a facts reader). */
  get factsDigest(): string | undefined {
    return this.#facts?.factsDigest;
  }

  /** Registers in the background (reading the facts first when `readFacts`), unless a registration is under way. */
  register(readFacts: boolean): void {
    if (this.#registering) return;
    this.#registering = (async () => {
      if (readFacts) await this.#readFacts();
      await this.#registerUntilAccepted();
    })()
      .catch((err: Error) =>
        this.#d.log.error({ hostId: this.#d.identity.hostId, err: err.message }, 'registration stopped; heartbeats go on'),
      )
      .finally(() => {
        this.#registering = undefined;
      });
  }

  /** Reads the facts again (at most one read at a time); a changed digest registers the host again. */
  refreshAndRegister(): void {
    if (this.#refreshing || this.#d.stopped()) return;
    this.#refreshing = true;
    this.refresh().finally(() => {
      this.#refreshing = false;
    });
  }

  /** Never rejects. A digest other than the one registered registers the host again (idempotent there). */
  async refresh(): Promise<void> {
    await this.#readFacts();
    if (this.#registered && this.#facts && this.#facts.factsDigest !== this.#registeredDigest) {
      this.#d.log.info({ hostId: this.#d.identity.hostId, factsDigest: this.#facts.factsDigest }, 'facts changed; registering again');
      this.register(false);
    }
  }

  /** Never rejects: facts that cannot be read leave the last ones (or none) in place. */
  async #readFacts(): Promise<void> {
    if (!this.#d.facts) return;
    try {
      const facts = await this.#d.facts();
      // A role the bus would refuse must not keep the host from registering at all.
      const rolePattern = new RegExp(patterns.hostFacts.roles, 'u');
      const refused = facts.roles.filter((r) => !rolePattern.test(r));
      if (refused.length > 0) this.#d.log.warn({ hostId: this.#d.identity.hostId, refused }, 'roles not valid on the bus are left out');
      this.#facts = { ...facts, roles: facts.roles.filter((r) => rolePattern.test(r)) };
    } catch (err) {
      this.#d.log.warn({ hostId: this.#d.identity.hostId, err: (err as Error).message }, 'host facts not read; the last ones stand');
    }
  }

  async #registerUntilAccepted(): Promise<void> {
    const retry = this.#d.registerRetryMs ?? 2_000;
    for (let attempt = 0; !this.#d.stopped(); attempt++) {
      const refreshed = this.#facts;
      try {
        const ack = await this.#d.bus.request(
          'agentRegistration',
          {
            hostId: this.#d.identity.hostId,
            agentVersion: this.#d.identity.agentVersion,
            facts: {
              ...this.#d.identity.facts,
              bootId: this.#d.bootId(),
              ...this.#d.migratedFacts(),
              ...refreshed,
            },
            labels: this.#d.identity.labels,
            driver: this.#d.driver,
            atMs: this.#d.now(),
          },
          10_000,
        );
        if (ack.accepted) {
          this.#registered = true;
          this.#registeredDigest = refreshed?.factsDigest;
          return;
        }
        this.#d.log.warn({ hostId: this.#d.identity.hostId, reason: ack.reason }, 'registration refused');
      } catch (err) {
        this.#d.log.debug({ hostId: this.#d.identity.hostId, err: (err as Error).message }, 'registration not answered, retrying');
      }
      await new Promise((r) => setTimeout(r, registrationRetryMs(attempt, retry, Math.random())).unref());
    }
  }
}

/** The longest wait between two registrations of one host. */
export const REGISTRATION_RETRY_CAP_MS = 60_000;

/**
 * How long to wait before registering again after the attempt-th (from 0) went unanswered
 * or was refused: doubling from `baseMs` up to a minute, the second half random ("equal
 * jitter"). A scheduler slowed by a whole pool registering at once (a restart of 300,000
 * agents) then sees the retries thin out instead of arrive every 2 s from every host.
 */
export function registrationRetryMs(attempt: number, baseMs: number, random: number): number {
  const ceiling = Math.min(REGISTRATION_RETRY_CAP_MS, baseMs * 2 ** Math.min(attempt, 20));
  return ceiling / 2 + (ceiling / 2) * random;
}
