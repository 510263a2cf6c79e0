// Silences, as an operator writes them: matchers (Alertmanager's syntax), a start, an end,
// who and why. A silence is never deleted before its end: expiring one moves its end to now,
// so the history says what was silenced when.
import { randomUUID } from 'node:crypto';
import { type CursorKey, NEWEST_FIRST, newestFirstAfter } from '@yixing/common/http';
import { type Connection, type Model, Schema } from 'mongoose';
import type { SilenceState } from '../engine/silences.ts';

/** A silence's id, as add() makes it. */
export const SILENCE_ID_PATTERN = '^s-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

export interface SilenceDoc {
  _id: string;
  /** The matchers as written, e.g. `{plan="p1", step=~"upgrade|reboot"}` (validated before it is stored). */
  matchers: string;
  startsAt: Date;
  endsAt: Date;
  createdBy: string;
  comment: string;
  createdAt: Date;
  /** Who expired it early, if anyone. */
  expiredBy: string;
}

const schema = new Schema<SilenceDoc>(
  {
    _id: String,
    matchers: String,
    startsAt: Date,
    endsAt: Date,
    createdBy: String,
    comment: { type: String, default: '' },
    createdAt: Date,
    expiredBy: { type: String, default: '' },
  },
  { collection: 'silences', versionKey: false },
);
schema.index({ endsAt: 1 });
schema.index({ createdAt: -1, _id: -1 });

/** The stored filter of silences in `state` at `now` (silenceState's intervals), after a cursor. */
export function silenceFilter(state: SilenceState | undefined, now: number, after: CursorKey | null): Record<string, unknown> {
  const at = new Date(now);
  const byState: Record<SilenceState, Record<string, unknown>> = {
    pending: { startsAt: { $gt: at }, endsAt: { $gt: at } },
    active: { startsAt: { $lte: at }, endsAt: { $gt: at } },
    expired: { endsAt: { $lte: at } },
  };
  return { ...(state ? byState[state] : {}), ...(after ? newestFirstAfter(after) : {}) };
}

export class SilenceStore {
  readonly #model: Model<SilenceDoc>;
  readonly #clock: () => number;

  constructor(conn: Connection, clock: () => number) {
    this.#model = conn.models.Silence ?? conn.model<SilenceDoc>('Silence', schema);
    this.#clock = clock;
  }

  get model(): Model<SilenceDoc> {
    return this.#model;
  }

  async add(s: Pick<SilenceDoc, 'matchers' | 'startsAt' | 'endsAt' | 'createdBy' | 'comment'>): Promise<SilenceDoc> {
    const doc: SilenceDoc = { _id: `s-${randomUUID()}`, ...s, createdAt: new Date(this.#clock()), expiredBy: '' };
    await this.#model.create(doc);
    return doc;
  }

  /** Ends the silence now (a pending one never starts); null when there is no such silence. */
  async expire(id: string, actor: string): Promise<SilenceDoc | null> {
    const now = new Date(this.#clock());
    await this.#model.updateOne({ _id: id, endsAt: { $gt: now } }, { $set: { expiredBy: actor }, $min: { endsAt: now } });
    return await this.#model.findById(id).lean<SilenceDoc>();
  }

  async get(id: string): Promise<SilenceDoc | null> {
    return await this.#model.findById(id).lean<SilenceDoc>();
  }

  /** Up to `limit` silences in `state` at `now` after `after`, newest first. */
  async page(state: SilenceState | undefined, now: number, after: CursorKey | null, limit: number): Promise<SilenceDoc[]> {
    return await this.#model
      .find(silenceFilter(state, now, after))
      .sort({ ...NEWEST_FIRST })
      .limit(limit)
      .lean<SilenceDoc[]>();
  }

  /** Silences not yet over at `now` (active and pending): what the dispatcher applies. */
  async current(now: number): Promise<SilenceDoc[]> {
    return await this.#model.find({ endsAt: { $gt: new Date(now) } }).lean<SilenceDoc[]>();
  }
}
