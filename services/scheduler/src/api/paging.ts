// Page sizes of the scheduler's lists, in one place: the routes' schemas, their
// descriptions and the limits they apply all read them from here.
import { decodeCursor, encodeCursor, pageLimit, pageQuery } from '@yixing/common/http';

export interface PageSize {
  /** Items per page when the request does not say. */
  fallback: number;
  /** The most items one page serves; a larger limit gets this many. */
  max: number;
}

export const PAGE_SIZES = {
  plans: { fallback: 50, max: 500 },
  operations: { fallback: 50, max: 500 },
  planHosts: { fallback: 500, max: 1000 },
  /** One finding kind's hosts in a pool report. */
  assessmentHosts: { fallback: 500, max: 1000 },
  hosts: { fallback: 500, max: 1000 },
  audit: { fallback: 200, max: 1000 },
  logLines: { fallback: 2000, max: 10_000 },
} as const satisfies Record<string, PageSize>;

/** The `limit` and `cursor` query fields of a list, for its route's schema. */
export const pageParams = (size: PageSize): Record<string, Record<string, unknown>> => pageQuery(size.max);

/** The page size a request asked for, within the list's bounds. */
export const limitOf = (raw: string | undefined, size: PageSize): number => pageLimit(raw, size.fallback, size.max);

/**
 * Cursors of lists served in ascending order (a plan's hosts by their order, the
 * inventory by id): the position and id of a page's last item, in the API's one cursor
 * form. Lists without a position use 0.
 */
export const ascendingCursor = (position: number, id: string): string => encodeCursor({ at: position, id });

export function readAscendingCursor(cursor: string): { position: number; id: string } {
  const { at, id } = decodeCursor(cursor);
  return { position: at, id };
}
