/**
 * Event times as people read them. The server does not know the reader's time zone, so it writes
 * UTC with the weekday ("Tue 31 Mar 2026, 14:05:09 UTC"); the page script rewrites it in the
 * browser's own zone.
 */

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
] as const;

function two(value: number): string {
  return String(value).padStart(2, '0');
}

/**
 * A readable UTC time: `2026-03-31T14:05:09.120Z` → "Tue 31 Mar 2026, 14:05:09 UTC", or
 * "Tue 31 Mar 2026, 14:05 UTC" without seconds. A value that is not a date is returned unchanged.
 *
 * @param iso - an ISO-8601 timestamp
 * @param seconds - whether to show the seconds
 */
export function readableTime(iso: string, seconds = true): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const weekday = WEEKDAYS[date.getUTCDay()] ?? '';
  const month = MONTHS[date.getUTCMonth()] ?? '';
  const minutes = `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}`;
  const clock = seconds ? `${minutes}:${two(date.getUTCSeconds())}` : minutes;
  return `${weekday} ${date.getUTCDate()} ${month} ${date.getUTCFullYear()}, ${clock} UTC`;
}

/**
 * A duration in milliseconds as text: "85 ms", "1.2 s".
 *
 * @param ms - a duration in milliseconds
 */
export function readableDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}
