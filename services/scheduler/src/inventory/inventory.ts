// The host inventory, held in memory and written through to the database: registrations
// are stored in batches (new hosts inserted, changed ones updated, unchanged ones not
// written at all), liveness from heartbeats stays in memory and is persisted as a few
// chunk documents. Reads (the API, plan limits, cluster health) never touch the database:
// on FerretDB v1 every query but a lookup by _id scans its collection.
import type { Subscription } from '@nats-io/transport-node';
import { type AgentRegistration, type Bus, bulkWriteChunked, duplicateIndexes, type Logger } from '@yixing/common';
import type { AnyBulkWriteOperation } from 'mongoose';
import type { HostDoc, LivenessDoc, Models } from '../db/models.ts';
import { missedBetween } from '../metrics.ts';
import { IdOrder } from './id-order.ts';
import { type InventorySummary, summariseInventory } from './inventory-summary.ts';

const LIVENESS_CHUNKS = 64;
const SUMMARY_TTL_MS = 2_000;
const DOMAINS = ['cluster', 'zone', 'rack'] as const;
/** Registrations stored in one batch at most: an insert of 500 hosts takes about 0.25 s on FerretDB. */
const MAX_REGISTRATION_BATCH = 5_000;
/**
 * Registrations waiting at most, one per host: more are refused at once (the agent retries
 * with its backoff). Unbounded, 300,000 agents registering at once (each retrying after
 * 10 s unanswered) queued 3.2 GB in the scheduler, whose garbage collection then held the
 * event loop past the lease's renewal deadline.
 */
export const MAX_PENDING_REGISTRATIONS = 20_000;

export type HostLabelsView = Pick<HostDoc['labels'], 'pool' | 'cluster' | 'zone' | 'rack' | 'role'>;
/** A host as the inventory keeps it; the plan that owns it is the engine's to say. */
export type InventoryHost = Omit<HostDoc, 'version' | 'lastSeenAt'>;

export interface InventoryDeps {
  models: Models;
  bus: Bus;
  log: Logger;
  clock: () => number;
  /** How long registrations are gathered into one batch. */
  registrationBatchMs?: number;
  lastSeenFlushMs?: number;
  /** Told of every heartbeat and how many of the host's before it never arrived (yx_scheduler_heartbeats_*). */
  onHeartbeat?: (missed: number) => void;
  /**
   * Whether this replica stores and answers registrations (the leader). Every replica
   * hears every registration and heartbeat, so that a follower's reads and a new
   * leader's admission know every host; only the leader writes. Absent: always.
   */
  leads?: () => boolean;
}

type Pending = { msg: AgentRegistration; respond: (accepted: boolean, reason: string) => void };

/** What is stored of a host; the boot id is runtime state and is not compared. */
function fingerprint(h: Pick<InventoryHost, 'facts' | 'labels' | 'driver' | 'agentVersion'>): string {
  const f = h.facts;
  const l = h.labels;
  const extra = Object.entries(l.extra ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([
    f.hostname,
    f.osId,
    f.osVersion,
    f.arch,
    f.kernel,
    f.roles ?? [],
    f.factsDigest ?? '',
    // The disk in use is left out: it moves all the time, and is a hint only.
    f.packageCount ?? 0,
    f.installedBytes ?? 0,
    l.pool,
    l.cluster,
    l.zone,
    l.rack,
    l.role,
    extra,
    h.driver,
    h.agentVersion,
  ]);
}

function fromRegistration(m: AgentRegistration, registeredAt: Date): InventoryHost {
  return {
    _id: m.hostId,
    facts: {
      hostname: m.facts?.hostname ?? '',
      osId: m.facts?.osId ?? '',
      osVersion: m.facts?.osVersion ?? '',
      arch: m.facts?.arch ?? '',
      kernel: m.facts?.kernel ?? '',
      bootId: m.facts?.bootId ?? '',
      roles: [...(m.facts?.roles ?? [])].sort(),
      factsDigest: m.facts?.factsDigest ?? '',
      packageCount: m.facts?.packageCount ?? 0,
      installedBytes: Math.max(0, m.facts?.installedBytes ?? 0),
      diskUsedBytes: Math.max(0, m.facts?.diskUsedBytes ?? 0),
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
    registeredAt,
  };
}

function chunkOf(hostId: string): string {
  let h = 0;
  for (let i = 0; i < hostId.length; i++) h = (h * 31 + hostId.charCodeAt(i)) >>> 0;
  return `chunk-${h % LIVENESS_CHUNKS}`;
}

export class Inventory {
  readonly #hosts = new Map<string, InventoryHost>();
  /** The hosts' ids in ascending order (pages and selections in id order, never sorted per request). */
  readonly #order = new IdOrder();
  readonly #domains = new Map<string, Set<string>>();
  readonly #lastSeen = new Map<string, number>();
  /** Each host's last heartbeat sequence number, to count the ones lost in between. */
  readonly #lastSeq = new Map<string, number>();
  readonly #storedSeen = new Map<string, number>();
  readonly #dirtySeen = new Set<string>();
  readonly #deps: InventoryDeps;
  readonly #startedAt: number;
  /** By host, in arrival order; a host's newer registration replaces its older one. */
  readonly #pending = new Map<string, Pending>();
  #flushTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #seenTimer: NodeJS.Timeout | undefined;
  #subs: Subscription[] = [];
  #summary: { at: number; graceMs: number; value: InventorySummary } | undefined;

  constructor(deps: InventoryDeps) {
    this.#deps = deps;
    this.#startedAt = deps.clock();
  }

  async load(): Promise<void> {
    for await (const h of this.#deps.models.Host.find({}).lean<HostDoc[]>().cursor()) {
      const { version, lastSeenAt, ...host } = h;
      this.#put({ ...host, labels: { ...host.labels, extra: host.labels.extra ?? {} } });
      if (lastSeenAt) this.#storedSeen.set(h._id, new Date(lastSeenAt).getTime());
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
          const respond = (accepted: boolean, reason: string): void => delivery.respond({ hostId: msg.hostId, accepted, reason });
          // Only the leader answers agents; a follower remembers every registration.
          const leads = this.#deps.leads?.() ?? true;
          const older = this.#pending.get(msg.hostId);
          if (leads && !older && this.#pending.size >= MAX_PENDING_REGISTRATIONS) {
            respond(false, `inventory busy: ${this.#pending.size} registrations waiting; retry later`);
            return;
          }
          // The agent gave up on the older one and asked again: it is answered, never stored.
          if (leads) older?.respond(false, 'superseded by a newer registration of the host');
          this.#pending.set(msg.hostId, { msg, respond });
          this.#scheduleFlush();
        },
        // No queue group: every replica keeps the whole inventory (see `leads`).
      ),
      bus.subscribe('heartbeat', {}, (hb) => {
        this.#deps.onHeartbeat?.(missedBetween(this.#lastSeq.get(hb.hostId), hb.seq));
        this.#lastSeq.set(hb.hostId, hb.seq);
        this.#lastSeen.set(hb.hostId, this.#deps.clock());
        this.#dirtySeen.add(hb.hostId);
      }),
    );
    this.#seenTimer = setInterval(() => {
      this.flushLastSeen().catch((err: Error) => this.#deps.log.error({ err: err.message }, 'last-seen flush failed'));
    }, this.#deps.lastSeenFlushMs ?? 30_000);
    this.#seenTimer.unref();
  }

  async stop(): Promise<void> {
    for (const s of this.#subs) s.unsubscribe();
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    clearInterval(this.#seenTimer);
    await this.#flushing;
    while (this.#pending.size > 0) await this.#flushRegistrations();
    await this.flushLastSeen();
  }

  #put(host: InventoryHost): void {
    const old = this.#hosts.get(host._id);
    if (old) for (const d of DOMAINS) this.#domains.get(`${d}:${old.labels[d]}`)?.delete(host._id);
    else this.#order.add(host._id);
    this.#hosts.set(host._id, host);
    for (const d of DOMAINS) {
      const key = `${d}:${host.labels[d]}`;
      const set = this.#domains.get(key) ?? new Set();
      set.add(host._id);
      this.#domains.set(key, set);
    }
  }

  /**
   * Stores a batch of registrations: new hosts are inserted (cheap), changed ones updated,
   * and a host that registers again unchanged (every agent start, every reboot) costs no
   * write at all.
   */
  #scheduleFlush(): void {
    if (this.#flushTimer || this.#flushing) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flushing = this.#flushRegistrations()
        .catch((err: Error) => this.#deps.log.error({ err: err.message }, 'registration batch failed'))
        .finally(() => {
          this.#flushing = undefined;
          // What arrived during the write goes in the next batch.
          if (this.#pending.size > 0) this.#scheduleFlush();
        });
    }, this.#deps.registrationBatchMs ?? 50);
  }

  /**
   * One batch at a time: registrations that arrive while one is stored wait for the next.
   * Batches written side by side (the previous way) raced on the same hosts when agents
   * retried: at 30,000 hosts the retries' duplicates turned into updates, each write took
   * longer than the agents' 10 s wait, they retried again, and registration stalled at
   * 4,800 hosts with 860 MiB of waiting requests in the scheduler.
   */
  async #flushRegistrations(): Promise<void> {
    const batch: Pending[] = [];
    for (const [hostId, p] of this.#pending) {
      if (batch.length === MAX_REGISTRATION_BATCH) break;
      batch.push(p);
      this.#pending.delete(hostId);
    }
    if (batch.length === 0) return;
    const now = new Date(this.#deps.clock());
    const incoming = batch.map(({ msg: m }) => {
      const known = this.#hosts.get(m.hostId);
      return fromRegistration(m, known?.registeredAt ?? now);
    });
    if (!(this.#deps.leads?.() ?? true)) {
      // A follower remembers; the leader stores and answers.
      for (const h of incoming) {
        this.#put(h);
        this.#lastSeen.set(h._id, this.#deps.clock());
      }
      return;
    }
    const fresh = incoming.filter((h) => !this.#hosts.has(h._id));
    const changed = incoming.filter((h) => {
      const known = this.#hosts.get(h._id);
      return known !== undefined && fingerprint(known) !== fingerprint(h);
    });
    try {
      for (let i = 0; i < fresh.length; i += 500) {
        const slice = fresh.slice(i, i + 500);
        try {
          await this.#deps.models.Host.insertMany(
            slice.map((h) => ({ ...h, lastSeenAt: now, version: 0 })),
            { ordered: false },
          );
        } catch (err) {
          // Stored before (a batch whose answer was lost, another replica's): update those alone.
          const duplicates = duplicateIndexes(err, slice.length);
          if (!duplicates) throw err;
          changed.push(...slice.filter((_, i) => duplicates.has(i)));
        }
      }
      const ops: AnyBulkWriteOperation<HostDoc>[] = changed.map((h) => ({
        updateOne: {
          filter: { _id: h._id },
          update: { $set: { facts: h.facts, labels: h.labels, driver: h.driver, agentVersion: h.agentVersion } },
        },
      }));
      await bulkWriteChunked(this.#deps.models.Host, ops);
      for (const h of incoming) {
        this.#put(h);
        this.#lastSeen.set(h._id, this.#deps.clock());
        this.#dirtySeen.add(h._id);
      }
      for (const p of batch) p.respond(true, '');
    } catch (err) {
      this.#deps.log.error({ err: (err as Error).message, hosts: incoming.length }, 'registration batch not stored');
      for (const p of batch) p.respond(false, 'inventory unavailable, retry');
    }
  }

  /**
   * Persists last-heartbeat times as a few chunk documents, rewriting only the chunks
   * with news: 300k hosts heartbeating must not cost 300k writes.
   */
  async flushLastSeen(): Promise<void> {
    // Only the leader writes; a follower keeps its news for when it leads.
    if (this.#dirtySeen.size === 0 || !(this.#deps.leads?.() ?? true)) return;
    const chunks = new Set([...this.#dirtySeen].map(chunkOf));
    this.#dirtySeen.clear();
    const byChunk = new Map<string, Record<string, number>>();
    for (const [id, at] of this.#lastSeen) {
      const c = chunkOf(id);
      if (!chunks.has(c)) continue;
      const seen = byChunk.get(c) ?? {};
      seen[id] = at;
      byChunk.set(c, seen);
    }
    try {
      for (const [c, seen] of byChunk) await this.#deps.models.Liveness.replaceOne({ _id: c }, { seen }, { upsert: true });
    } catch (err) {
      for (const id of this.#lastSeen.keys()) if (chunks.has(chunkOf(id))) this.#dirtySeen.add(id);
      this.#deps.log.warn({ err: (err as Error).message }, 'last-seen times not persisted, will retry');
    }
  }

  get size(): number {
    return this.#hosts.size;
  }

  host(hostId: string): InventoryHost | undefined {
    return this.#hosts.get(hostId);
  }

  /** Hosts whose labels match every given label, in id order. */
  get(hostId: string): InventoryHost | undefined {
    return this.#hosts.get(hostId);
  }

  select(labels: Partial<HostLabelsView>): InventoryHost[] {
    const matches = labelMatcher(labels);
    const out: InventoryHost[] = [];
    for (const id of this.#order.ids()) {
      const h = this.#hosts.get(id) as InventoryHost;
      if (matches(h)) out.push(h);
    }
    return out;
  }

  /**
   * One page of the hosts matching `labels`, in id order, after the host `after`: the
   * page, whether more follow, and how many match in all: no sort, no copy, and without
   * labels no pass over the inventory (the page alone).
   */
  page(
    labels: Partial<HostLabelsView>,
    after: string | undefined,
    limit: number,
  ): { hosts: InventoryHost[]; more: boolean; total: number } {
    const matches = labelMatcher(labels);
    const ids = this.#order.ids();
    let total = ids.length;
    if (matches !== everyHost) {
      // Counted over the map's values: a lookup by id per host cost twice the pass.
      total = 0;
      for (const h of this.#hosts.values()) if (matches(h)) total++;
    }
    const hosts: InventoryHost[] = [];
    let more = false;
    for (let i = after === undefined ? 0 : this.#order.indexAfter(after); i < ids.length; i++) {
      const h = this.#hosts.get(ids[i] as string) as InventoryHost;
      if (!matches(h)) continue;
      if (hosts.length === limit) {
        more = true;
        break;
      }
      hosts.push(h);
    }
    return { hosts, more, total };
  }

  /** The last heartbeat: this process's, else the one stored before a restart. */
  lastSeen(hostId: string): number | undefined {
    return this.#lastSeen.get(hostId) ?? this.#storedSeen.get(hostId);
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

  /**
   * The hosts counted by OS release, agent version and connection (alive within `graceMs`),
   * counted at most once per SUMMARY_TTL_MS: every open overview asks every few seconds, and
   * one pass over 300,000 hosts takes tens of milliseconds of the event loop.
   */
  summary(graceMs: number): InventorySummary {
    const now = this.#deps.clock();
    const last = this.#summary;
    if (last && last.graceMs === graceMs && now - last.at < SUMMARY_TTL_MS) return last.value;
    const value = summariseInventory(this.#hosts.values(), (id) => this.isAlive(id, graceMs, now));
    this.#summary = { at: now, graceMs, value };
    return value;
  }

  members(domain: 'cluster' | 'zone' | 'rack', name: string): ReadonlySet<string> {
    return this.#domains.get(`${domain}:${name}`) ?? new Set();
  }
}

const everyHost = (): boolean => true;

/** Whether a host has every given label (a role: among its facts' roles); `everyHost` when none is given. */
function labelMatcher(labels: Partial<HostLabelsView>): (h: InventoryHost) => boolean {
  const wanted = Object.entries(labels).filter(([, v]) => v !== undefined) as [keyof HostLabelsView, string][];
  if (wanted.length === 0) return everyHost;
  return (h) => wanted.every(([k, v]) => h.labels[k] === v || (k === 'role' && (h.facts.roles ?? []).includes(v)));
}
