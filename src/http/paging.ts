// limit/offset paging for the admin lists (accounts, audit): one set of bounds and messages; the number of
// matches before paging goes in X-Total-Count.
import { t } from "elysia";

/** The largest page a list answers. */
export const PAGE_LIMIT_MAX = 1000;

/** The `limit` and `offset` query fields, to spread into a route's query object. */
export function pagingQuery(defaultLimit: number) {
  return {
    limit: t.Optional(
      t.Integer({
        minimum: 1,
        maximum: PAGE_LIMIT_MAX,
        default: defaultLimit,
        error: `limit must be a whole number from 1 to ${PAGE_LIMIT_MAX}`,
        description: "Page size.",
      }),
    ),
    offset: t.Optional(
      t.Integer({
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
        default: 0,
        error: `offset must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`,
        description: "How many matches to skip.",
      }),
    ),
  };
}
