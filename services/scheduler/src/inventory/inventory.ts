// The host inventory: registrations upserted in batches, liveness from heartbeats kept in
// memory (300k hosts heartbeating every few seconds must not cost a database write each)
// and persisted as `lastSeenAt` in periodic bulk writes. Also answers the questions the
// engine asks before it takes a host: who is in this cluster, and who is alive.

import type { Subscription } from '@nats-io/transport-node';
import type { AgentRegistration, Bus, Logger } from '@yixing/common';
import type { AnyBulkWriteOperation } from 'mongoose';
import type { HostDoc, Models } from '../db/models.ts';

export interface HostLabelsView {
  pool: string;
  cluster: string;
  zone: string;
  rack: string;
  role: string;
}

export interface InventoryDeps {
  models: Models;
  bus: Bus;
  log: Logger;
  clock: () => number;
  /** How long registrations are gathered into one bulk write. */
  registrationBatchMs?: number;
  lastSeenFlushMs?: number;
}

type Pending = { msg: AgentRegistration; respond: (accepted: boolean, reason: string) => void };

export class Inventory {
  readonly labels = new Map<string, HostLabelsView>();
  readonly #domains = new Map<string, Set<string>>();
  readonly #lastSeen = new Map<string, number>();
  readonly #dirtySeen = new Set<string>();
  readonly #deps: InventoryDeps;
  readonly #startedAt: number;
  #pending: Pending[] = [];
  #flushTimer: NodeJS.Timeout | undefined;
  #seenTimer: NodeJS.Timeout | undefined;
  #subs: Subscription[] = [];

  constructor(deps: InventoryDeps) {
    this.#deps = deps;
    this.#startedAt = deps.clock();
  }

  async load(): Promise<void> {
    const cursor = this.#deps.models.Host.find({}, { labels: 1 }).lean<Pick<HostDoc, '_id' | 'labels'>[]>().cursor();
    for await (const h of cursor) this.#index(h._id, h.labels);
  }

  start(): void {
    const { bus } = this.#deps;
    this.#subs.push(
      bus.subscribe(
        'agentRegistration',
        {},
        (msg, delivery) => {
          this.#pending.push({ msg, respond: (accepted, reason) => delivery.respond({ hostId: msg.hostId, accepted, reason }) });
          this.#flushTimer ??= setTimeout(() => void this.#flushRegistrations(), this.#deps.registrationBatchMs ?? 50);
        },
        { queue: 'yx-scheduler' },
      ),
      bus.subscribe('heartbeat', {}, (hb) => {
        this.#lastSeen.set(hb.hostId, this.#deps.clock());
        this.#dirtySeen.add(hb.hostId);
      }),
    );
    this.#seenTimer = setInterval(() => void this.flushLastSeen(), this.#deps.lastSeenFlushMs ?? 30_000);
    this.#seenTimer.unref();
  }

  async stop(): Promise<void> {
    for (const s of this.#subs) s.unsubscribe();
    clearTimeout(this.#flushTimer);
    clearInterval(this.#seenTimer);
    await this.#flushRegistrations();
    await this.flushLastSeen();
  }

  #index(hostId: string, labels: HostLabelsView): void {
    const old = this.labels.get(hostId);
    if (old) for (const d of ['cluster', 'zone', 'rack'] as const) this.#domains.get(`${d}:${old[d]}`)?.delete(hostId);
    const view = { pool: labels.pool, cluster: labels.cluster, zone: labels.zone, rack: labels.rack, role: labels.role };
    this.labels.set(hostId, view);
    for (const d of ['cluster', 'zone', 'rack'] as const) {
      const key = `${d}:${view[d]}`;
      const set = this.#domains.get(key) ?? new Set();
      set.add(hostId);
      this.#domains.set(key, set);
    }
  }

  async #flushRegistrations(): Promise<void> {
    this.#flushTimer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    // The last registration of a host in the batch wins.
    const byHost = new Map(batch.map((p) => [p.msg.hostId, p.msg]));
    const now = new Date(this.#deps.clock());
    const ops: AnyBulkWriteOperation<HostDoc>[] = [...byHost.values()].map((m) => ({
      updateOne: {
        filter: { _id: m.hostId },
        update: {
          $set: {
            facts: {
              hostname: m.facts?.hostname ?? '',
              osId: m.facts?.osId ?? '',
              osVersion: m.facts?.osVersion ?? '',
              arch: m.facts?.arch ?? '',
              kernel: m.facts?.kernel ?? '',
              bootId: m.facts?.bootId ?? '',
            },
            labels: {
              pool: m.labels?.pool ?? '',
              cluster: m.labels?.cluster ?? '',
              zone: m.labels?.zone ?? '',
              rack: m.labels?.rack ?? '',
              role: m.labels?.role ?? '',
              extra: { ...(m.labels?.extra ?? {}) },
            },
            driver: m.driver,
            agentVersion: m.agentVersion,
            lastSeenAt: now,
          },
          $setOnInsert: { registeredAt: now, activePlanId: null, version: 0 },
        },
        upsert: true,
      },
    }));
    try {
      await this.#deps.models.Host.bulkWrite(ops, { ordered: false });
      for (const m of byHost.values()) {
        this.#index(m.hostId, {
          pool: m.labels?.pool ?? '',
          cluster: m.labels?.cluster ?? '',
          zone: m.labels?.zone ?? '',
          rack: m.labels?.rack ?? '',
          role: m.labels?.role ?? '',
        });
        this.#lastSeen.set(m.hostId, this.#deps.clock());
      }
      for (const p of batch) p.respond(true, '');
    } catch (err) {
      this.#deps.log.error({ err: (err as Error).message, hosts: byHost.size }, 'registration batch not stored');
      for (const p of batch) p.respond(false, 'inventory unavailable, retry');
    }
  }

  async flushLastSeen(): Promise<void> {
    if (this.#dirtySeen.size === 0) return;
    const ids = [...this.#dirtySeen];
    this.#dirtySeen.clear();
    const ops: AnyBulkWriteOperation<HostDoc>[] = ids.map((id) => ({
      updateOne: { filter: { _id: id }, update: { $set: { lastSeenAt: new Date(this.#lastSeen.get(id) ?? 0) } } },
    }));
    try {
      await this.#deps.models.Host.bulkWrite(ops, { ordered: false });
    } catch (err) {
      for (const id of ids) this.#dirtySeen.add(id);
      this.#deps.log.warn({ err: (err as Error).message }, 'lastSeenAt not persisted, will retry');
    }
  }

  lastSeen(hostId: string): number | undefined {
    return this.#lastSeen.get(hostId);
  }

  /**
   * Whether the host's agent is alive. Right after a scheduler start nobody has been
   * heard yet, so a host counts as alive until one grace period has passed.
   */
  isAlive(hostId: string, graceMs: number, now = this.#deps.clock()): boolean {
    const seen = this.#lastSeen.get(hostId);
    if (seen !== undefined) return now - seen <= graceMs;
    return now - this.#startedAt <= graceMs;
  }

  members(domain: 'cluster' | 'zone' | 'rack', name: string): ReadonlySet<string> {
    return this.#domains.get(`${domain}:${name}`) ?? new Set();
  }
}
