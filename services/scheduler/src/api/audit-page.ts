// GET /v1/audit: operator actions newest first, a page at a time. The cursor names the
// page's last entry by (at, _id), so entries recorded meanwhile never shift a page.
import { decodeCursor, encodeCursor, InvalidCursorError } from '@yixing/common/http';
import { isValidObjectId, Types } from 'mongoose';
import type { AuditDoc, Models } from '../db/models.ts';

export interface AuditEntry extends AuditDoc {
  _id: Types.ObjectId;
}

export async function auditPage(
  models: Models,
  q: { planId?: string; limit: number; cursor?: string },
): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
  const filter: Record<string, unknown> = q.planId ? { planId: q.planId } : {};
  if (q.cursor) {
    const { at, id } = decodeCursor(q.cursor);
    // An audit entry's id is a database ObjectId: anything else is not a cursor of this list.
    if (!isValidObjectId(id) || !/^[0-9a-f]{24}$/.test(id)) {
      throw new InvalidCursorError('query.cursor: is not a cursor this API returned (pass nextCursor as it is)', {
        details: { field: 'query.cursor', reason: 'is not a cursor this API returned' },
      });
    }
    const when = new Date(at);
    filter.$or = [{ at: { $lt: when } }, { at: when, _id: { $lt: new Types.ObjectId(id) } }];
  }
  const found = await models.Audit.find(filter)
    .sort({ at: -1, _id: -1 })
    .limit(q.limit + 1)
    .lean<AuditEntry[]>();
  const entries = found.slice(0, q.limit);
  const last = entries.at(-1);
  return {
    entries,
    nextCursor: found.length > q.limit && last ? encodeCursor({ at: new Date(last.at).getTime(), id: last._id.toHexString() }) : null,
  };
}
