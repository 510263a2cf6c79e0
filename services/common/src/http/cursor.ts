// Opaque cursors for lists served newest first: a cursor names the last item of a page
// by (createdAt, _id), so the next page starts right after it however many items were
// added or removed meanwhile, and a page costs one indexed query of `limit + 1` documents.
import { YxError } from '../errors.ts';

export class InvalidCursorError extends YxError {
  readonly code = 'INVALID_CURSOR';
  readonly retryable = false;
  override readonly httpStatus = 400;
}

export interface CursorKey {
  /** createdAt, in ms since the epoch. */
  at: number;
  id: string;
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.at, key.id])).toString('base64url');
}

export function decodeCursor(cursor: string): CursorKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !Number.isSafeInteger(parsed[0]) ||
    typeof parsed[1] !== 'string' ||
    parsed[1].length === 0
  ) {
    throw new InvalidCursorError(`query.cursor: is not a cursor this API returned (pass nextCursor as it is)`, {
      details: { field: 'query.cursor', reason: 'is not a cursor this API returned' },
    });
  }
  return { at: parsed[0] as number, id: parsed[1] as string };
}

/** The documents after a cursor, in the order `{ createdAt: -1, _id: -1 }`. */
export function newestFirstAfter(key: CursorKey): Record<string, unknown> {
  const at = new Date(key.at);
  return { $or: [{ createdAt: { $lt: at } }, { createdAt: at, _id: { $lt: key.id } }] };
}

export const NEWEST_FIRST = { createdAt: -1, _id: -1 } as const;

/**
 * A page from `limit + 1` documents read in cursor order: the extra one only tells that
 * there is a next page.
 */
export function pageOf<T extends { _id: string; createdAt: Date | string }>(
  docs: T[],
  limit: number,
): { docs: T[]; nextCursor: string | null } {
  const page = docs.slice(0, limit);
  const last = page.at(-1);
  return {
    docs: page,
    nextCursor: docs.length > limit && last ? encodeCursor({ at: new Date(last.createdAt).getTime(), id: last._id }) : null,
  };
}

/** Query-string fields of a paged list, for a route's JSON schema. */
export function pageQuery(maxLimit: number): Record<string, Record<string, unknown>> {
  return {
    limit: { type: 'string', pattern: '^[0-9]{1,6}$', description: `Items per page, 1 to ${maxLimit}.` },
    cursor: {
      type: 'string',
      minLength: 1,
      maxLength: 600,
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'The nextCursor of the previous page; absent for the first page.',
    },
  };
}

/** The page size asked for, within 1..max. */
export function pageLimit(raw: string | undefined, fallback: number, max: number): number {
  return Math.max(1, Math.min(raw === undefined ? fallback : Number(raw), max));
}
