import type { AlarmKind, AlarmMessage, AlarmSeverity } from './alarm-message';

/**
 * One alarm for one channel, as the pipeline hands it to the store together with the events of
 * the same commit. The store keeps it in its outbox table until the dispatcher delivered it.
 */
export interface AlarmOutboxEntry {
  /**
   * Unique per alarm and channel, deterministic (rule, channel, event id or window), so that an
   * alarm raised twice for the same cause (a spool replay, two instances) is stored once.
   */
  dedupKey: string;
  /** Rule name. */
  rule: string;
  /** Channel name. */
  channel: string;
  kind: AlarmKind;
  severity: AlarmSeverity;
  /**
   * Entries with the same digest key are folded into one message, at most one per `throttleMs`
   * (set for rules with `throttle`).
   */
  digestKey?: string;
  /** Minimum time between two messages of one digest key. */
  throttleMs?: number;
  /** Event that raised it, if any. */
  eventId?: string;
  /** When it was raised (ISO-8601). */
  createdAt: string;
  /** The rendered message (count 1 unless a threshold alarm). */
  message: AlarmMessage;
}

/** Lifecycle of an outbox entry. */
export type AlarmStatus = 'pending' | 'delivered' | 'dead';

/** An outbox entry as stored, with its delivery state. */
export interface StoredAlarm extends AlarmOutboxEntry {
  /** Store-assigned id (sequence). */
  seq: number;
  status: AlarmStatus;
  /** Attempts made so far (for a digest: attempts of its head). */
  attempts: number;
  /**
   * Not to be attempted before this time (ISO-8601). Absent once the entry is settled, and while
   * it waits inside a digest whose head is sent for it (see {@link StoredAlarm.digestHead}).
   */
  nextAttemptAt?: string;
  /** Set while a dispatcher holds the entry; others skip it until then (ISO-8601). */
  leaseUntil?: string;
  /** Who holds the lease (the claimer's `owner` and a claim id), while one is held. */
  leasedBy?: string;
  /** When it was delivered or dead-lettered (ISO-8601). */
  settledAt?: string;
  /** Last error message. */
  lastError?: string;
  /**
   * Digest entries: seq of the entry whose message stands for this one (the oldest member of
   * the group), set when the group is formed. Equal to `seq` for the head itself.
   */
  digestHead?: number;
  /** Seq of the entry whose message carried this one (digest members). */
  deliveredWith?: number;
}

/** One delivery attempt, kept for every try (queryable). */
export interface AlarmAttempt {
  /** Seq of the outbox entry that was sent (the digest head for a digest). */
  alarmSeq: number;
  /** Dedup key of that entry. */
  dedupKey: string;
  channel: string;
  /** 1-based attempt number. */
  attempt: number;
  /** When the attempt started (ISO-8601). */
  at: string;
  durationMs: number;
  /** `delivered`, `failed` (will retry) or `dead` (gave up). */
  result: 'delivered' | 'failed' | 'dead';
  /** Entries the message stood for (a digest counts all its members). */
  count: number;
  /** HTTP/SMTP status, when known. */
  statusCode?: number;
  error?: string;
}

/** Filters of `AlarmOutbox.list()`; all optional, combined with AND. */
export interface AlarmListQuery {
  status?: AlarmStatus;
  rule?: string;
  channel?: string;
  /** One alarm by its dedup key. */
  dedupKey?: string;
  /** The entries of one digest key. */
  digestKey?: string;
  /** Most entries returned, newest first (1 to 1000). @default 100 */
  limit?: number;
}

/** Filters of `AlarmOutbox.listAttempts()`; all optional, combined with AND. */
export interface AlarmAttemptQuery {
  /** Attempts of the message with this dedup key (a digest's head key). */
  dedupKey?: string;
  /** Attempts on one channel. */
  channel?: string;
  /** Attempts of one outcome. */
  result?: AlarmAttempt['result'];
  /** Most attempts returned, newest first (1 to 1000). @default 100 */
  limit?: number;
}

/** What a dispatcher asks `AlarmOutbox.claim()` for. */
export interface AlarmClaimRequest {
  /** The dispatcher's current time, epoch milliseconds: what is due at or before it is claimed. */
  now: number;
  /** Most messages returned (1 to 1000). */
  limit: number;
  /** How long the claimer holds what it got, in milliseconds; others skip it until then. */
  leaseMs: number;
  /** Names the claimer in the stored lease (e.g. `host:pid`), for operators. */
  owner: string;
  /** How many members of a digest to return (the oldest ones); the count is always exact. */
  listSize: number;
  /**
   * Channels to leave alone in this claim: their single entries and digest heads are not
   * leased, and the waiting entries of their digest keys are not grouped yet (the group forms,
   * and its throttle period starts, at the first claim that does not exclude the channel). They
   * stay due and are claimed as usual by a later claim without them. A dispatcher passes the
   * channels whose sends in flight are at its per-channel cap, so that one slow channel cannot
   * take every send slot.
   * @default none excluded
   */
  excludeChannels?: readonly string[];
}

/** One message to send, leased to the claimer until `alarm.leaseUntil`. */
export interface AlarmClaim {
  /** The entry whose message is sent: a single alarm, or the head of a digest group. */
  alarm: StoredAlarm;
  /** The lease token, unique per claim: hand it back to `AlarmOutbox.settle()`. */
  lease: string;
  /**
   * Digest entries: the oldest `listSize` members of the group, oldest first, head included.
   * Empty for an entry without digest key.
   */
  members: StoredAlarm[];
  /** Entries the message stands for: 1, or the size of the digest group. */
  count: number;
}

/** The outcome of one delivery attempt, as a dispatcher reports it to `AlarmOutbox.settle()`. */
export interface AlarmSettlement {
  /** The lease token of the claim. */
  lease: string;
  /** The attempt, recorded whatever happens to the entry (`alarmSeq` names the entry). */
  attempt: AlarmAttempt;
  /** For `failed`: when to try again (ISO-8601). */
  nextAttemptAt?: string;
}

/** Counts for `health()`. */
export interface AlarmOutboxStats {
  pending: number;
  delivered: number;
  dead: number;
  /** Oldest pending entry's creation time, if any (ISO-8601). */
  oldestPendingAt?: string;
}
