// The enrolment state: tokens (by the digest of their secret), their uses (an insert
// keyed by the token: whoever inserts first consumes it; FerretDB v1's conditional
// updates are no compare-and-swap) and every credential issued, with its revocation.
import { isDuplicateKey } from '@yixing/common';
import { type Connection, type Model, Schema } from 'mongoose';
import type { EnrolTokenDoc, RevokedCredential } from './enrol-decision.ts';

export interface EnrolTokenUseDoc {
  _id: string;
  hostId: string;
  userKey: string;
  at: Date;
}

/** A credential issued to a host: its user public key, and when it was revoked. */
export interface EnrolmentDoc {
  _id: string;
  hostId: string;
  issuedAt: Date;
  /** The lifetime of every JWT issued for this key (renewals too); null: they never expire. */
  ttlMs: number | null;
  revokedAt: Date | null;
  revokedBy: string | null;
}

export interface EnrolModels {
  Token: Model<EnrolTokenDoc>;
  TokenUse: Model<EnrolTokenUseDoc>;
  Enrolment: Model<EnrolmentDoc>;
}

export function enrolModels(conn: Connection): EnrolModels {
  const token = new Schema<EnrolTokenDoc>(
    { _id: String, hostId: String, createdAt: Date, expiresAt: Date, createdBy: String },
    { versionKey: false },
  );
  const use = new Schema<EnrolTokenUseDoc>({ _id: String, hostId: String, userKey: String, at: Date }, { versionKey: false });
  const enrolment = new Schema<EnrolmentDoc>(
    { _id: String, hostId: { type: String, index: true }, issuedAt: Date, ttlMs: Number, revokedAt: Date, revokedBy: String },
    { versionKey: false },
  );
  return {
    Token: conn.model<EnrolTokenDoc>('EnrolToken', token, 'enrol_tokens'),
    TokenUse: conn.model<EnrolTokenUseDoc>('EnrolTokenUse', use, 'enrol_token_uses'),
    Enrolment: conn.model<EnrolmentDoc>('Enrolment', enrolment, 'enrolments'),
  };
}

export class EnrolStore {
  readonly #m: EnrolModels;

  constructor(models: EnrolModels) {
    this.#m = models;
  }

  async addToken(doc: EnrolTokenDoc): Promise<void> {
    await this.#m.Token.create(doc);
  }

  findToken(digest: string): Promise<EnrolTokenDoc | null> {
    return this.#m.Token.findById(digest).lean<EnrolTokenDoc>().exec();
  }

  /**
   * Consumes a token: `consumed` for the one caller whose insert landed; `repeated` for the
   * same host asking again with the same key (its reply was lost); `used` for anyone else.
   */
  async consume(use: EnrolTokenUseDoc): Promise<'consumed' | 'repeated' | 'used'> {
    try {
      await this.#m.TokenUse.create(use);
      return 'consumed';
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const first = await this.#m.TokenUse.findById(use._id).lean<EnrolTokenUseDoc>().exec();
    return first?.hostId === use.hostId && first.userKey === use.userKey ? 'repeated' : 'used';
  }

  /** Records an issued credential; recording it again (a repeated request) changes nothing. */
  async recordEnrolment(userKey: string, hostId: string, issuedAt: Date, ttlMs: number | null): Promise<void> {
    try {
      await this.#m.Enrolment.create({ _id: userKey, hostId, issuedAt, ttlMs, revokedAt: null, revokedBy: null });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }

  /** The host's credentials not revoked, except `keep`. */
  async activeKeys(hostId: string, keep?: string): Promise<string[]> {
    const docs = await this.#m.Enrolment.find({ hostId, revokedAt: null }).lean<EnrolmentDoc[]>().exec();
    return docs.map((d) => d._id).filter((k) => k !== keep);
  }

  async markRevoked(userKeys: string[], at: Date, by: string): Promise<void> {
    if (userKeys.length === 0) return;
    await this.#m.Enrolment.updateMany({ _id: { $in: userKeys }, revokedAt: null }, { $set: { revokedAt: at, revokedBy: by } }).exec();
  }

  findEnrolment(userKey: string): Promise<EnrolmentDoc | null> {
    return this.#m.Enrolment.findById(userKey).lean<EnrolmentDoc>().exec();
  }

  /** Every revoked credential: what the fleet account's JWT must refuse (while its JWTs may live). */
  async revoked(): Promise<RevokedCredential[]> {
    const docs = await this.#m.Enrolment.find({ revokedAt: { $ne: null } })
      .lean<EnrolmentDoc[]>()
      .exec();
    return docs.map((d) => ({ userKey: d._id, revokedAt: d.revokedAt as Date, ttlMs: d.ttlMs ?? null }));
  }
}
