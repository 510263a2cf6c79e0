// The host inventory: registrations upserted in batches, liveness from heartbeats kept in
// memory (300k hosts heartbeating every few seconds must not cost a database write each)
// and persisted as `lastSeenAt` in periodic bulk writes. Also answers the questions the
// engine asks before it takes a host: who is in this cluster, and who is alive.

import type { Subscription } from '@nats-io/transport-node';
import { type AgentRegistration, type Bus, bulkWriteChunked, type Logger } from '@yixing/common';
import type { AnyBulkWriteOperation } from 'mongoose';
import type { HostDoc, LivenessDoc, Models } from '../db/models.ts';

const LIVENESS_CHUNKS = 64;

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
  readonly #storedSeen = new Map<string, number>();
  /** Fingerprint of what is stored per host, to skip writing unchanged registrations. */
  readonly #stored = new Map<string, string>();
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
    const cursor = this.#deps.models.Host.find({}).lean<HostDoc[]>().cursor();
    for await (const h of cursor) {
      this.#index(h._id, h.labels);
      this.#stored.set(
        h._id,
        Inventory.#fingerprint({
          hostId: h._id,
          facts: h.facts,
          labels: { ...h.labels, extra: h.labels.extra ?? {} },
          driver: h.driver,
          agentVersion: h.agentVersion,
        } as unknown as AgentRegistration),
      );
    }
    for (const chunk of await this.#deps.models.Liveness.find({}).lean<LivenessDoc[]>()) {
      for (const [id, at] of Object.entries(chunk.seen)) this.#storedSeen.set(id, at);
    }
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

  /** What is stored of a registration; the boot id is runtime state and stays in memory. */
  static #fingerprint(m: AgentRegistration): string {
    const l = m.labels;
    const extra = Object.entries(l?.extra ?? {}).sort(([a], [b]) => a.localeCompare(b));
    const f = m.facts;
    return JSON.stringify([
      f?.hostname,
      f?.osId,
      f?.osVersion,
      f?.arch,
      f?.kernel,
      l?.pool,
      l?.cluster,
      l?.zone,
      l?.rack,
      l?.role,
      extra,
      m.driver,
      m.agentVersion,
    ]);
  }

  static #hostFields(m: AgentRegistration): Omit<HostDoc, '_id' | 'registeredAt' | 'lastSeenAt' | 'activePlanId' | 'version'> {
    return {
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
    };
  }

  /**
   * Stores a batch of registrations: new hosts are inserted (cheap), changed ones updated
   * (an update scans the collection on FerretDB v1, so only real changes are written), and
   * a host that registers again unchanged (every agent start, every reboot) costs nothing.
   */
  async #flushRegistrations(): Promise<void> {
    this.#flushTimer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const byHost = new Map(batch.map((p) => [p.msg.hostId, p.msg]));
    const now = new Date(this.#deps.clock());
    const fresh = [...byHost.values()].filter((m) => !this.#stored.has(m.hostId));
    const changed = [...byHost.values()].filter(
      (m) => this.#stored.has(m.hostId) && this.#stored.get(m.hostId) !== Inventory.#fingerprint(m),
    );
    try {
      for (let i = 0; i < fresh.length; i += 500) {
        const docs = fresh
          .slice(i, i + 500)
          .map((m) => ({ _id: m.hostId, ...Inventory.#hostFields(m), registeredAt: now, lastSeenAt: now, activePlanId: null, version: 0 }));
        try {
          await this.#deps.models.Host.insertMany(docs, { ordered: false });
        } catch (err) {
          // Stored by an earlier batch whose answer was lost: update those instead.
          if ((err as { code?: number }).code !== 11000 && !(err as { writeErrors?: unknown[] }).writeErrors) throw err;
          changed.push(...fresh.slice(i, i + 500));
        }
      }
      const ops: AnyBulkWriteOperation<HostDoc>[] = changed.map((m) => ({
        updateOne: { filter: { _id: m.hostId }, update: { $set: Inventory.#hostFields(m) } },
      }));
      await bulkWriteChunked(this.#deps.models.Host, ops);
      for (const m of byHost.values()) {
        this.#stored.set(m.hostId, Inventory.#fingerprint(m));
        this.#index(m.hostId, {
          pool: m.labels?.pool ?? '',
          cluster: m.labels?.cluster ?? '',
          zone: m.labels?.zone ?? '',
          rack: m.labels?.rack ?? '',
          role: m.labels?.role ?? '',
        });
        this.#lastSeen.set(m.hostId, this.#deps.clock());
        this.#dirtySeen.add(m.hostId);
      }
      for (const p of batch) p.respond(true, '');
    } catch (err) {
      this.#deps.log.error({ err: (err as Error).message, hosts: byHost.size }, 'registration batch not stored');
      for (const p of batch) p.respond(false, 'inventory unavailable, retry');
    }
  }

  /** Chunk of the liveness documents a host belongs to. */
  static #chunkOf(hostId: string): string {
    let h = 0;
    for (let i = 0; i < hostId.length; i++) h = (h * 31 + hostId.charCodeAt(i)) >>> 0;
    return `chunk-${h % LIVENESS_CHUNKS}`;
  }

  /**
   * Persists last-heartbeat times as a few chunk documents, rewriting only the chunks
   * with news: 300k hosts heartbeating must not cost 300k writes.
   */
  async flushLastSeen(): Promise<void> {
    if (this.#dirtySeen.size === 0) return;
    const chunks = new Set([...this.#dirtySeen].map((id) => Inventory.#chunkOf(id)));
    this.#dirtySeen.clear();
    const byChunk = new Map<string, Record<string, number>>();
    for (const [id, at] of this.#lastSeen) {
      const c = Inventory.#chunkOf(id);
      if (!chunks.has(c)) continue;
      const seen = byChunk.get(c) ?? {};
      seen[id] = at;
      byChunk.set(c, seen);
    }
    try {
      for (const [c, seen] of byChunk) await this.#deps.models.Liveness.replaceOne({ _id: c }, { seen }, { upsert: true });
    } catch (err) {
      for (const id of this.#lastSeen.keys()) if (chunks.has(Inventory.#chunkOf(id))) this.#dirtySeen.add(id);
      this.#deps.log.warn({ err: (err as Error).message }, 'last-seen times not persisted, will retry');
    }
  }

  /** The last heartbeat time stored before a restart, for the API until a new one arrives. */
  storedLastSeen(hostId: string): number | undefined {
    return this.#storedSeen.get(hostId);
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
