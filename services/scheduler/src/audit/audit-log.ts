// The audit log: every operator action, who did it and to what. Append-only.
import type { AuditDoc, Models } from '../db/models.ts';

export class AuditLog {
  readonly #models: Models;
  readonly #clock: () => number;

  constructor(models: Models, clock: () => number) {
    this.#models = models;
    this.#clock = clock;
  }

  async record(
    actor: string,
    action: string,
    about: { planId?: string; hostId?: string; details?: Record<string, unknown> } = {},
  ): Promise<void> {
    await this.#models.Audit.create({
      at: new Date(this.#clock()),
      actor,
      action,
      planId: about.planId ?? null,
      hostId: about.hostId ?? null,
      details: about.details ?? {},
    } satisfies AuditDoc);
  }

  async list(filter: { planId?: string; limit: number }): Promise<AuditDoc[]> {
    return this.#models.Audit.find(filter.planId ? { planId: filter.planId } : {})
      .sort({ at: -1 })
      .limit(filter.limit)
      .lean<AuditDoc[]>();
  }
}
