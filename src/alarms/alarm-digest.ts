/**
 * Digests: the pending alarms of one throttled rule and channel folded into one message that
 * counts them all and lists the first ones, so a burst of 10,000 matching events reaches a
 * person as a handful of messages, none lost from the count.
 */
import {
  ALARM_SEVERITIES,
  type AlarmEventSummary,
  type AlarmMessage,
  type AlarmSeverity,
} from '../stores/alarm-message';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import { isOverRateLimit } from './alarm-rate-limit';
import { viewerListUrl, type ViewerListFilter } from './alarm-rule-links';
import { MAX_TEXT_CHARS, MAX_TITLE_CHARS } from './alarm-template';
import { cutText, describeTime } from './alarm-template-values';
import { AuditInternalError } from '../common/audit-internal.error';

/** Settings of {@link foldDigest}. */
export interface FoldDigestOptions {
  /** `alarms.digestListSize`: how many events the message lists. */
  digestListSize: number;
  /**
   * Normalised `alarms.viewerUrl` (see `normalizeViewerUrl`): when set, the digest links to the
   * viewer's list filtered to its period (and action, when all listed events share one).
   */
  viewerUrl?: string;
}

function laterIso(a: string, b: string): boolean {
  const left = Date.parse(a);
  const right = Date.parse(b);
  if (Number.isNaN(left) || Number.isNaN(right)) return a > b;
  return left > right;
}

function highest(severities: Iterable<AlarmSeverity>): AlarmSeverity {
  let rank = -1;
  for (const severity of severities) rank = Math.max(rank, ALARM_SEVERITIES.indexOf(severity));
  return ALARM_SEVERITIES[Math.max(rank, 0)] as AlarmSeverity;
}

/** What the members of a digest hold together: their period, titles and first events. */
interface DigestMembers {
  readonly firstAt: string;
  readonly lastAt: string;
  readonly titles: ReadonlySet<string>;
  readonly events: AlarmEventSummary[];
}

function gatherMembers(
  entries: readonly AlarmOutboxEntry[],
  first: AlarmOutboxEntry,
  listSize: number,
): DigestMembers {
  const events: AlarmEventSummary[] = [];
  let firstAt = first.message.firstAt;
  let lastAt = first.message.lastAt;
  const titles = new Set<string>();
  for (const entry of entries) {
    const message = entry.message;
    titles.add(message.title);
    if (laterIso(firstAt, message.firstAt)) firstAt = message.firstAt;
    if (laterIso(message.lastAt, lastAt)) lastAt = message.lastAt;
    for (const summary of message.events) {
      if (events.length >= listSize) break;
      events.push(summary);
    }
  }
  return { firstAt, lastAt, titles, events };
}

/** Title and text of a digest: how many, over which period, and one line per listed event. */
function digestWording(
  first: AlarmOutboxEntry,
  count: number,
  members: DigestMembers,
): Pick<AlarmMessage, 'title' | 'text'> {
  const { events } = members;
  const base = members.titles.size === 1 ? first.message.title : first.rule;
  // Past a rate limit, the rule's first alarms went out one by one: these are the rest.
  const overLimit = isOverRateLimit(first.digestKey);
  const counted = overLimit ? `${count} more like this` : `${count} times`;
  const between = `between ${describeTime(members.firstAt)} and ${describeTime(members.lastAt)}`;
  const period = overLimit
    ? `${count} more like this ${between}, past the rule's rate limit`
    : `${count} events ${between}`;
  let header: string;
  if (events.length === 0) header = `${period}.`;
  else if (events.length < count) header = `${period}; the first ${events.length}:`;
  else header = `${period}:`;
  const lines = events.map((summary) => `- ${describeTime(summary.timestamp)}: ${summary.text}`);
  return {
    title: cutText(`${base} (${counted})`, MAX_TITLE_CHARS),
    text: cutText([header, ...lines].join('\n'), MAX_TEXT_CHARS),
  };
}

/** The viewer's list of the digest's period, narrowed to its action when all share one. */
function digestUrl(viewerUrl: string, members: DigestMembers): string {
  const { firstAt, lastAt, events } = members;
  const lastMs = Date.parse(lastAt);
  const filter: ViewerListFilter = {
    from: firstAt,
    // The viewer's `to` is exclusive: one millisecond past the last event keeps it listed.
    to: Number.isNaN(lastMs) ? lastAt : new Date(lastMs + 1).toISOString(),
  };
  const action = events[0]?.action;
  if (action !== undefined && events.every((summary) => summary.action === action)) {
    filter.action = action;
  }
  return viewerListUrl(viewerUrl, filter);
}

/**
 * Folds the pending entries of one digest key (oldest first) into one message.
 *
 * - one entry standing for all of `total`: its own message, unchanged;
 * - otherwise a message of kind `digest`: `count` is `total` (never less than the entries' own
 *   counts), `events` the first `digestListSize` events of the entries in order, the title the
 *   entries' common title (or the rule name when they differ) followed by `(N times)`, the text
 *   `N events between … and …; the first 10:` and one line per listed event (past a rate limit,
 *   `(N more like this)` and `N more like this between … and …, past the rule's rate limit`), `firstAt`/`lastAt`
 *   across all entries, and the id `<digest key>:<dedup key of the first entry>` (stable across
 *   retries of the same digest).
 *
 * @param entries - the digest members, oldest first (at least one; the caller may pass only the
 *   first ones of a very large digest)
 * @param total - events the digest stands for: the sum of the counts of all its members
 * @param options - list size and viewer URL
 * @throws AuditInternalError when `entries` is empty
 * @example foldDigest(pending, pendingCount, { digestListSize: 10 }).title // 'MFA phone changed (37 times)'
 */
export function foldDigest(
  entries: readonly AlarmOutboxEntry[],
  total: number,
  options: FoldDigestOptions,
): AlarmMessage {
  const first = entries[0];
  if (first === undefined) {
    throw new AuditInternalError('foldDigest() needs at least one outbox entry to fold.');
  }
  let memberCount = 0;
  for (const entry of entries) memberCount += entry.message.count;
  const count = Math.max(Number.isFinite(total) ? Math.floor(total) : 0, memberCount);
  if (entries.length === 1 && count <= first.message.count) return first.message;

  const members = gatherMembers(entries, first, Math.max(1, Math.floor(options.digestListSize)));
  const digestKey = first.digestKey ?? `${first.rule}:${first.channel}`;
  const message: AlarmMessage = {
    id: `${digestKey}:${first.dedupKey}`,
    rule: first.rule,
    channel: first.channel,
    kind: 'digest',
    severity: highest(entries.map((entry) => entry.severity)),
    ...digestWording(first, count, members),
    count,
    events: members.events,
    firstAt: members.firstAt,
    lastAt: members.lastAt,
    service: first.message.service,
  };
  if (options.viewerUrl !== undefined) message.url = digestUrl(options.viewerUrl, members);
  return message;
}
