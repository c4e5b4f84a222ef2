function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/**
 * Formats epoch milliseconds as a `timestamptz` literal in UTC, exact to the millisecond.
 *
 * Text keeps the conversion exact: `to_timestamp(ms / 1000.0)` goes through a float and can be
 * off by microseconds for dates far from now. Unlike `Date#toISOString()`, years past 9999 and
 * before year 1 are written the way PostgreSQL reads them (`12026-…`, `… BC`).
 */
export function toPostgresTimestamp(ms: number): string {
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  // ISO year 0 is 1 BC, year -1 is 2 BC, and so on.
  const era = year >= 1 ? '' : ' BC';
  const shownYear = year >= 1 ? year : 1 - year;
  return (
    `${pad(shownYear, 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.` +
    `${pad(date.getUTCMilliseconds(), 3)}+00${era}`
  );
}
