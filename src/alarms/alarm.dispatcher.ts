import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { AuditStore } from '../stores/audit-store';
import type { AlarmMessage } from './alarm-message';
import type {
  AlarmAttempt,
  AlarmClaim,
  AlarmClaimRequest,
  AlarmOutboxEntry,
  AlarmOutboxStats,
  AlarmSettlement,
} from './alarm-outbox';
import { backoffDelay, type BackoffSettings } from './backoff';
import type { AlarmNotifier } from './notifiers/alarm-notifier';

/** Settings of {@link AlarmDispatcher}; most mirror the `alarms` module options. */
export interface AlarmDispatcherSettings {
  /** Attempts per message before it is dead-lettered (`alarms.maxAttempts`). */
  maxAttempts: number;
  /** Retry backoff (`alarms.backoff`). */
  backoff: BackoffSettings;
  /** Time between two looks at the outbox when nothing woke the dispatcher (`alarms.pollIntervalMs`). */
  pollIntervalMs: number;
  /** How many members a digest message lists (`alarms.digestListSize`). */
  digestListSize: number;
  /**
   * Longest time one attempt may take on a channel without its own timeout, in milliseconds:
   * the send's `AbortSignal` is aborted then and the attempt counts as failed.
   * @default 10000
   */
  timeoutMs?: number;
  /** Per-channel attempt timeouts (the channels' `timeoutMs`), overriding `timeoutMs`. */
  channelTimeoutMs?: Readonly<Record<string, number>>;
  /**
   * How long a claimed message stays reserved for this dispatcher. Another instance sends it
   * once the lease expired without a settlement (this one crashed or was stopped mid-send), so
   * it must be longer than the longest attempt.
   * @default the larger of 60000 and twice the longest timeout
   */
  leaseMs?: number;
  /**
   * Messages sent at the same time, over all channels.
   * @default 4
   */
  concurrency?: number;
  /**
   * Messages sent at the same time on one channel. A slow or hanging channel holds at most this
   * many of the `concurrency` slots, each for at most its timeout, and the others stay free for
   * the other channels: the channels at this limit are left out of the next claims
   * (`excludeChannels`) until one of their sends ends. A value of `concurrency` or more only
   * limits by `concurrency`.
   * @default half of `concurrency`, rounded down, at least 1 (2 for the default 4)
   */
  channelConcurrency?: number;
  /**
   * Most messages claimed in one look at the outbox (never more than the free send slots).
   * @default 20
   */
  batchSize?: number;
  /** Names this process in leases, for operators. @default `<hostname>:<pid>` */
  owner?: string;
  /**
   * How often the outbox counts of {@link AlarmDispatcher.stats} are refreshed from the store.
   * @default 5000
   */
  statsIntervalMs?: number;
}

/**
 * Builds the one message of a digest group from its oldest members (at most the digest list
 * size, oldest first) and the number of entries it stands for.
 */
export type AlarmDigestFold = (members: readonly AlarmOutboxEntry[], total: number) => AlarmMessage;

/** Where the dispatcher reports: dead letters as `error`, failed attempts as `warn`. */
export type AlarmDispatcherLogger = (level: 'error' | 'warn' | 'log', message: string) => void;

/** What {@link AlarmDispatcher.stats} reports, for `health()`. */
export interface AlarmDispatcherStats {
  /** Whether the delivery loop runs. */
  running: boolean;
  /** Messages delivered by this process. */
  sent: number;
  /** Outbox entries those messages stood for (a digest counts all its members). */
  delivered: number;
  /** Attempts that failed and will be retried. */
  failedAttempts: number;
  /** Messages this process dead-lettered. */
  dead: number;
  /** Messages being sent right now. */
  inFlight: number;
  /** Settlements not yet written because the store failed; retried at every poll. */
  unsettled: number;
  /** The last delivery or store error. */
  lastError?: string;
  /** When it happened (ISO-8601). */
  lastErrorAt?: string;
  /** The outbox counts of the store (all instances), refreshed every `statsIntervalMs`. */
  outbox?: AlarmOutboxStats;
  /** When those counts were read (ISO-8601). */
  outboxCheckedAt?: string;
}

/** Attempt timeout of a channel that sets none, in milliseconds. */
export const DEFAULT_ALARM_TIMEOUT_MS = 10_000;
const DEFAULT_CONCURRENCY = 4;
const DEFAULT_BATCH_SIZE = 20;
const DEFAULT_STATS_INTERVAL_MS = 5_000;
/** Longest wait between two claims while the store keeps failing. */
const MAX_STORE_BACKOFF_MS = 30_000;
/** Settlements kept in memory while the store fails; beyond, leases expiring resend them. */
const MAX_UNSETTLED = 10_000;

interface CycleResult {
  claimed: number;
  limit: number;
  failed: boolean;
  sends: Promise<void>[];
}

interface InFlight {
  controller: AbortController;
  /** Set when the send was aborted by `stop()`: it is not settled, its lease expires instead. */
  shutdown: boolean;
  done: Promise<void>;
}

/** The parts of an error a retry decision looks at (duck-typed: notifiers may be bundled apart). */
interface DeliveryFailure {
  message: string;
  permanent: boolean;
  retryAfterMs?: number;
  statusCode?: number;
}

function failureOf(error: unknown): DeliveryFailure {
  if (error === null || typeof error !== 'object') {
    return { message: String(error), permanent: false };
  }
  const e = error as {
    name?: unknown;
    message?: unknown;
    permanent?: unknown;
    retryAfterMs?: unknown;
    statusCode?: unknown;
  };
  const failure: DeliveryFailure = {
    message:
      typeof e.message === 'string' && e.message.length > 0
        ? e.message
        : (JSON.stringify(error) ?? 'unknown error'),
    permanent: e.permanent === true,
  };
  if (typeof e.retryAfterMs === 'number' && Number.isFinite(e.retryAfterMs)) {
    failure.retryAfterMs = e.retryAfterMs;
  }
  if (typeof e.statusCode === 'number' && Number.isInteger(e.statusCode)) {
    failure.statusCode = e.statusCode;
  }
  return failure;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function settingError(name: string, problem: string): TypeError {
  return new TypeError(`nestjs-audit: alarm dispatcher setting "${name}" ${problem}.`);
}

function positive(name: string, value: unknown, fallback?: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw settingError(name, `must be a whole number above 0, got ${JSON.stringify(value)}`);
  }
  return v;
}

/** Rejects when `signal` aborts, with its reason. */
function aborted(signal: AbortSignal): Promise<never> {
  const reason = () =>
    signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason));
  return new Promise<never>((_resolve, reject) => {
    if (signal.aborted) reject(reason());
    else signal.addEventListener('abort', () => reject(reason()), { once: true });
  });
}

/**
 * The longest time one attempt may take on any of `channels`: a channel's own timeout, else the
 * default. A lease must outlast it, or a second instance could send a message still in flight.
 */
export function longestAttemptTimeout(
  channels: Iterable<string>,
  channelTimeoutMs: Readonly<Record<string, number>>,
  defaultTimeoutMs: number,
): { channel?: string; timeoutMs: number } {
  let longest: { channel?: string; timeoutMs: number } = { timeoutMs: 0 };
  for (const channel of channels) {
    const timeoutMs = channelTimeoutMs[channel] ?? defaultTimeoutMs;
    if (timeoutMs > longest.timeoutMs) longest = { channel, timeoutMs };
  }
  // With no channel (yet), the default is what any send would get.
  return longest.channel === undefined ? { timeoutMs: defaultTimeoutMs } : longest;
}

/**
 * Delivers the alarm outbox: claims due messages from the store, sends each through its
 * channel's notifier, and settles it (delivered, retried later with backoff, or dead-lettered).
 *
 * - At-least-once: a message is settled only after its send ended; a crash in between leaves
 *   the lease to expire, and the message is sent again (with the same `message.id`).
 * - Never in the request path: the loop runs on timers, {@link AlarmDispatcher.wake} only
 *   schedules it, and no method but `stop()` and `runOnce()` returns a promise.
 * - A failing store is logged and retried with a growing pause (never a busy loop); the loop
 *   itself never stops on an error.
 *
 * @example
 * ```ts
 * const dispatcher = new AlarmDispatcher(store, notifiers, settings, foldDigest, log);
 * dispatcher.start();
 * // after a commit that carried alarms:
 * dispatcher.wake();
 * // on shutdown:
 * await dispatcher.stop(5000);
 * ```
 */
export class AlarmDispatcher {
  private readonly maxAttempts: number;
  private readonly pollIntervalMs: number;
  private readonly defaultTimeoutMs: number;
  private readonly channelTimeoutMs: Readonly<Record<string, number>>;
  private readonly leaseMs: number;
  private readonly concurrency: number;
  private readonly channelConcurrency: number;
  private readonly batchSize: number;
  private readonly owner: string;
  private readonly statsIntervalMs: number;

  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private readonly inFlight = new Set<InFlight>();
  /** Sends in flight per channel; a channel is absent while it has none. */
  private readonly inFlightPerChannel = new Map<string, number>();
  private cycling: Promise<void> | undefined;
  /** The end of the last cycle started: each cycle waits for it (see `cycle()`). */
  private lastCycle: Promise<unknown> = Promise.resolve();
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private storeFailures = 0;
  private unsettled: AlarmSettlement[] = [];
  private readonly counters = { sent: 0, delivered: 0, failedAttempts: 0, dead: 0 };
  private lastError: { message: string; at: string } | undefined;
  private outbox: { stats: AlarmOutboxStats; at: number } | undefined;
  private statsReadAt = Number.NEGATIVE_INFINITY;

  /**
   * @param store a store whose `supportsAlarms` is true.
   * @param notifiers the notifier of each channel name.
   * @param settings delivery settings.
   * @param fold builds a digest message from the oldest members of a group and its size.
   * @param log receives dead letters (`error`), failed attempts (`warn`) and store failures.
   * @param now the clock, epoch milliseconds (claims and schedules use it; tests pass a fake).
   * @throws TypeError when the store keeps no outbox or a setting is out of range.
   */
  constructor(
    private readonly store: AuditStore,
    private readonly notifiers: ReadonlyMap<string, AlarmNotifier>,
    private readonly settings: AlarmDispatcherSettings,
    private readonly fold: AlarmDigestFold,
    private readonly log: AlarmDispatcherLogger = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    if (!store.supportsAlarms) {
      throw new TypeError(
        `nestjs-audit: alarms need a store that keeps the alarm outbox, and ${store.constructor.name} (engine "${store.engine}") does not. Use SqliteAuditStore, PostgresAuditStore or InMemoryAuditStore, or remove the "alarms" option.`,
      );
    }
    this.maxAttempts = positive('maxAttempts', settings.maxAttempts);
    this.pollIntervalMs = positive('pollIntervalMs', settings.pollIntervalMs);
    positive('backoff.initialMs', settings.backoff?.initialMs);
    positive('backoff.maxMs', settings.backoff?.maxMs);
    if (!Number.isInteger(settings.digestListSize) || settings.digestListSize < 0) {
      throw settingError('digestListSize', 'must be a whole number from 0');
    }
    this.defaultTimeoutMs = positive('timeoutMs', settings.timeoutMs, DEFAULT_ALARM_TIMEOUT_MS);
    this.channelTimeoutMs = { ...settings.channelTimeoutMs };
    for (const [channel, ms] of Object.entries(this.channelTimeoutMs)) {
      positive(`channelTimeoutMs.${channel}`, ms);
    }
    const longest = longestAttemptTimeout(
      new Set([...notifiers.keys(), ...Object.keys(this.channelTimeoutMs)]),
      this.channelTimeoutMs,
      this.defaultTimeoutMs,
    ).timeoutMs;
    this.leaseMs = positive('leaseMs', settings.leaseMs, Math.max(60_000, 2 * longest));
    if (this.leaseMs <= longest) {
      throw settingError(
        'leaseMs',
        `(${this.leaseMs}) must be longer than the longest channel timeout (${longest}), or another instance would send a message while this one still waits for it`,
      );
    }
    this.concurrency = positive('concurrency', settings.concurrency, DEFAULT_CONCURRENCY);
    this.channelConcurrency = positive(
      'channelConcurrency',
      settings.channelConcurrency,
      Math.max(1, Math.floor(this.concurrency / 2)),
    );
    this.batchSize = positive('batchSize', settings.batchSize, DEFAULT_BATCH_SIZE);
    this.owner = settings.owner ?? `${hostname()}:${process.pid}`;
    this.statsIntervalMs = positive(
      'statsIntervalMs',
      settings.statsIntervalMs,
      DEFAULT_STATS_INTERVAL_MS,
    );
  }

  /** Starts the delivery loop; the first look at the outbox happens at once. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.schedule(0);
  }

  /**
   * Looks at the outbox as soon as possible instead of at the next poll; called after a commit
   * that stored alarms. Cheap and synchronous: it only schedules.
   */
  wake(): void {
    if (this.state !== 'running') return;
    if (this.cycling) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  /**
   * Stops claiming, waits up to `deadlineMs` for the sends in flight, then aborts them through
   * their `AbortSignal`. An aborted send is not settled: its lease expires and this or another
   * instance sends it again, so nothing is lost. Calling it again does nothing.
   */
  async stop(deadlineMs = 10_000): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const sends = () => Promise.allSettled([...this.inFlight].map((send) => send.done));
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([
      sends(),
      new Promise<void>((resolve) => {
        deadline = setTimeout(resolve, deadlineMs);
      }),
    ]);
    clearTimeout(deadline);
    for (const send of this.inFlight) {
      send.shutdown = true;
      send.controller.abort(new Error('the application is shutting down'));
    }
    await sends();
    await this.cycling?.catch(() => undefined);
    await this.flushUnsettled();
    this.state = 'stopped';
  }

  /**
   * Claims what is due now, sends it and waits until every message is settled. The loop does
   * the same on its own; this is for tools and tests that want one round at a known moment.
   * Never rejects: errors are logged and counted as in the loop.
   * @returns how many messages were claimed.
   */
  async runOnce(): Promise<number> {
    if (this.state === 'stopping' || this.state === 'stopped') return 0;
    const { claimed, sends } = await this.cycle();
    await Promise.all(sends);
    return claimed;
  }

  /** Counters of this process and the last known outbox counts, for `health()`. */
  stats(): AlarmDispatcherStats {
    const stats: AlarmDispatcherStats = {
      running: this.state === 'running',
      ...this.counters,
      inFlight: this.inFlight.size,
      unsettled: this.unsettled.length,
    };
    if (this.lastError) {
      stats.lastError = this.lastError.message;
      stats.lastErrorAt = this.lastError.at;
    }
    if (this.outbox) {
      stats.outbox = { ...this.outbox.stats };
      stats.outboxCheckedAt = new Date(this.outbox.at).toISOString();
    }
    return stats;
  }

  private schedule(delayMs: number): void {
    if (this.state !== 'running') return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, delayMs);
    // Alarms never keep an application alive on their own; shutdown goes through stop().
    this.timer.unref();
  }

  /** Runs one cycle unless one is running (then it runs again right after). */
  private kick(): void {
    if (this.state !== 'running') return;
    if (this.cycling) {
      this.again = true;
      return;
    }
    this.again = false;
    let next = this.pollIntervalMs;
    this.cycling = this.cycle()
      .then(({ claimed, limit, failed }) => {
        if (failed) {
          next = Math.min(
            MAX_STORE_BACKOFF_MS,
            this.pollIntervalMs * 2 ** (this.storeFailures - 1),
          );
        } else if (claimed > 0 && claimed === limit) {
          // A full batch: more may be due.
          next = 0;
        }
      })
      .catch((error: unknown) =>
        this.noteError(`nestjs-audit: alarm delivery loop: ${reasonOf(error)}`),
      )
      .finally(() => {
        this.cycling = undefined;
        this.schedule(this.again ? 0 : next);
        this.again = false;
      });
  }

  /**
   * One look at the outbox. Cycles run one after the other (the loop's and `runOnce()`'s): the
   * limits of a claim are computed from the sends in flight, and only the cycle that claimed
   * adds to them, so no two claims can both fill the same free slots.
   */
  private cycle(): Promise<CycleResult> {
    const run = this.lastCycle.then(() => this.cycleNow());
    this.lastCycle = run.catch(() => undefined);
    return run;
  }

  /**
   * What the next claim may take: at most the free slots, and for any one channel at most its
   * free slots. Channels at their cap are excluded; the limit is the fewest free slots of any
   * other channel (one with nothing in flight has them all), so that even a claim that returns
   * only messages of one channel stays within that channel's cap.
   */
  private claimLimits(): { limit: number; excludeChannels: string[] } {
    const excludeChannels: string[] = [];
    let busiest = 0;
    for (const [channel, count] of this.inFlightPerChannel) {
      if (count >= this.channelConcurrency) excludeChannels.push(channel);
      else busiest = Math.max(busiest, count);
    }
    const limit = Math.min(
      this.batchSize,
      this.concurrency - this.inFlight.size,
      this.channelConcurrency - busiest,
    );
    return { limit, excludeChannels: excludeChannels.sort() };
  }

  /** Retries pending settlements, refreshes counts, claims and starts the sends. */
  private async cycleNow(): Promise<CycleResult> {
    await this.flushUnsettled();
    await this.refreshStats();
    const { limit, excludeChannels } = this.claimLimits();
    if (limit <= 0) return { claimed: 0, limit, failed: false, sends: [] };
    let claims: AlarmClaim[];
    try {
      const request: AlarmClaimRequest = {
        now: this.now(),
        limit,
        leaseMs: this.leaseMs,
        owner: this.owner,
        listSize: this.settings.digestListSize,
      };
      if (excludeChannels.length > 0) request.excludeChannels = excludeChannels;
      claims = await this.store.claimAlarms(request);
      this.storeFailures = 0;
    } catch (error) {
      this.storeFailures += 1;
      const message = `nestjs-audit: could not claim alarms from the ${this.store.engine} store: ${reasonOf(error)}. Alarms stay in the outbox; trying again in a moment.`;
      // One error per outage, then quieter: the store's own health reports the rest.
      this.noteError(message, this.storeFailures === 1 ? 'error' : 'warn');
      return { claimed: 0, limit, failed: true, sends: [] };
    }
    // Claimed while stop() began: not sent now, the leases expire and they go out later.
    if (this.state === 'stopping' || this.state === 'stopped') {
      return { claimed: claims.length, limit, failed: false, sends: [] };
    }
    return {
      claimed: claims.length,
      limit,
      failed: false,
      sends: claims.map((c) => this.track(c)),
    };
  }

  private track(claim: AlarmClaim): Promise<void> {
    const send: InFlight = {
      controller: new AbortController(),
      shutdown: false,
      done: Promise.resolve(),
    };
    const { channel } = claim.alarm;
    this.inFlight.add(send);
    this.inFlightPerChannel.set(channel, (this.inFlightPerChannel.get(channel) ?? 0) + 1);
    send.done = this.deliver(claim, send)
      .catch((error: unknown) =>
        this.noteError(
          `nestjs-audit: alarm delivery of ${claim.alarm.dedupKey}: ${reasonOf(error)}`,
        ),
      )
      .finally(() => {
        this.inFlight.delete(send);
        const left = (this.inFlightPerChannel.get(channel) ?? 1) - 1;
        if (left > 0) this.inFlightPerChannel.set(channel, left);
        else this.inFlightPerChannel.delete(channel);
        // A slot is free (perhaps of a channel that was at its cap): more may be waiting.
        this.wake();
      });
    return send.done;
  }

  private async deliver(claim: AlarmClaim, send: InFlight): Promise<void> {
    const alarm = claim.alarm;
    const attempt = alarm.attempts + 1;
    const at = this.now();
    const started = performance.now();
    const notifier = this.notifiers.get(alarm.channel);
    let failure: DeliveryFailure | undefined;
    if (notifier === undefined) {
      failure = {
        message: `channel "${alarm.channel}" is not configured (it may have been removed or renamed since the alarm was raised). Known channels: ${[...this.notifiers.keys()].join(', ') || 'none'}`,
        permanent: true,
      };
    } else {
      failure = await this.attempt(notifier, claim, attempt, send);
    }
    // Aborted by stop(): not the alarm's fault, so no attempt is counted; the lease expires and
    // the message goes out later. A send that completed before the abort is settled as usual.
    if (send.shutdown && failure !== undefined) return;

    const record: AlarmAttempt = {
      alarmSeq: alarm.seq,
      dedupKey: alarm.dedupKey,
      channel: alarm.channel,
      attempt,
      at: new Date(at).toISOString(),
      durationMs: Math.round(performance.now() - started),
      result: 'delivered',
      count: claim.count,
    };
    const settlement: AlarmSettlement = { lease: claim.lease, attempt: record };
    if (failure === undefined) {
      this.counters.sent += 1;
      this.counters.delivered += claim.count;
    } else {
      if (failure.statusCode !== undefined) record.statusCode = failure.statusCode;
      record.error = failure.message;
      const what = `alarm of rule "${alarm.rule}" to channel "${alarm.channel}" (dedup key ${alarm.dedupKey}${claim.count > 1 ? `, ${claim.count} alarms` : ''})`;
      if (failure.permanent || attempt >= this.maxAttempts) {
        record.result = 'dead';
        this.counters.dead += 1;
        this.noteError(
          `nestjs-audit: ${what} was dead-lettered after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${failure.message}. It stays in the outbox with status "dead" (store.listAlarms({ status: 'dead' })).`,
        );
      } else {
        record.result = 'failed';
        this.counters.failedAttempts += 1;
        const delay = backoffDelay(attempt, this.settings.backoff, failure.retryAfterMs);
        settlement.nextAttemptAt = new Date(this.now() + delay).toISOString();
        this.noteError(
          `nestjs-audit: attempt ${attempt} of ${this.maxAttempts} of ${what} failed: ${failure.message}. Next attempt in ${Math.ceil(delay / 1000)} s.`,
          'warn',
        );
      }
    }
    await this.settle(settlement);
  }

  /** Sends once, bounded by the channel timeout. @returns the failure, or undefined when delivered. */
  private async attempt(
    notifier: AlarmNotifier,
    claim: AlarmClaim,
    attempt: number,
    send: InFlight,
  ): Promise<DeliveryFailure | undefined> {
    const channel = claim.alarm.channel;
    const timeoutMs = this.channelTimeoutMs[channel] ?? this.defaultTimeoutMs;
    const { controller } = send;
    const timer = setTimeout(
      () =>
        controller.abort(
          new Error(
            `no answer from channel "${channel}" within ${timeoutMs} ms (its timeoutMs); the attempt was aborted`,
          ),
        ),
      timeoutMs,
    );
    try {
      const message = this.messageOf(claim);
      const sending = Promise.resolve().then(() =>
        notifier.send(message, { signal: controller.signal, attempt, timeoutMs }),
      );
      // A notifier that ignores its signal must not hold the slot past the timeout; its late
      // result is dropped.
      sending.catch(() => undefined);
      await Promise.race([sending, aborted(controller.signal)]);
      return undefined;
    } catch (error) {
      return failureOf(controller.signal.aborted ? controller.signal.reason : error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The message to send: the entry's own, or the digest folded from its group. */
  private messageOf(claim: AlarmClaim): AlarmMessage {
    const head = claim.alarm;
    // The dedup key of the head is the message id on every retry, so receivers can drop repeats.
    const fixed = { id: head.dedupKey, channel: head.channel };
    if (head.digestKey === undefined || claim.count <= 1) return { ...head.message, ...fixed };
    try {
      return { ...this.fold(claim.members, claim.count), ...fixed };
    } catch (error) {
      this.noteError(
        `nestjs-audit: could not build the digest of rule "${head.rule}" (${claim.count} alarms): ${reasonOf(error)}. Sending a plain summary instead.`,
      );
      // The Slack text of the head would drop the note below: Slack neutralizes `text` instead.
      const { slackText: _headOnly, ...plain } = head.message;
      return {
        ...plain,
        ...fixed,
        kind: 'digest',
        count: claim.count,
        text: `${head.message.text}\n\n… and ${claim.count - 1} more alarm(s) of rule "${head.rule}".`,
      };
    }
  }

  private async settle(settlement: AlarmSettlement): Promise<void> {
    try {
      await this.store.settleAlarms([settlement]);
    } catch (error) {
      this.keepUnsettled(settlement);
      this.noteError(
        `nestjs-audit: could not record the outcome of alarm ${settlement.attempt.dedupKey} in the ${this.store.engine} store: ${reasonOf(error)}. Retrying at the next poll; if the lease expires first, the alarm may be sent once more.`,
      );
    }
  }

  private keepUnsettled(settlement: AlarmSettlement): void {
    this.unsettled.push(settlement);
    if (this.unsettled.length > MAX_UNSETTLED) this.unsettled.shift();
  }

  private async flushUnsettled(): Promise<void> {
    if (this.unsettled.length === 0) return;
    const pending = this.unsettled;
    this.unsettled = [];
    try {
      await this.store.settleAlarms(pending);
    } catch {
      for (const settlement of pending) this.keepUnsettled(settlement);
    }
  }

  private async refreshStats(): Promise<void> {
    const now = this.now();
    if (now - this.statsReadAt < this.statsIntervalMs) return;
    this.statsReadAt = now;
    try {
      this.outbox = { stats: await this.store.alarmStats(), at: now };
    } catch {
      // The claim right after reports the store failure; stale counts stay with their time.
    }
  }

  private noteError(message: string, level: 'error' | 'warn' = 'error'): void {
    this.lastError = { message, at: new Date(this.now()).toISOString() };
    try {
      this.log(level, message);
    } catch {
      // A failing logger must not stop deliveries.
    }
  }
}
