import { performance } from 'node:perf_hooks';
import { messageOf } from '../common/message-of';
import { noAlarmOutboxFix, type AlarmOutbox } from '../stores/alarm-outbox';
import type { AuditStore } from '../stores/audit-store';
import { attemptOutcome, countOutcome } from './alarm-attempt-outcome';
import { AlarmChannelSender } from './alarm-channel-sender';
import { claimMessage, type AlarmDigestFold } from './alarm-claim-message';
import {
  resolveDispatcherSettings,
  type AlarmDispatcherSettings,
  type ResolvedDispatcherSettings,
} from './alarm-dispatcher-settings';
import {
  AlarmOutboxCounts,
  type AlarmDeliveryCounters,
  type AlarmDispatcherStats,
} from './alarm-dispatcher-stats';
import type { AlarmClaim, AlarmClaimRequest } from '../stores/alarm-outbox-model';
import { AlarmSendSlots, type AlarmSend } from './alarm-send-slots';
import { AlarmSettlementWriter } from './alarm-settlement-writer';
import type { AlarmNotifier } from './notifiers/alarm-notifier';
import { AuditConfigurationError } from '../common/audit-configuration.error';

/** Where the dispatcher reports: dead letters as `error`, failed attempts as `warn`. */
export type AlarmDispatcherLogger = (level: 'error' | 'warn' | 'log', message: string) => void;

/** Longest wait between two claims while the store keeps failing. */
const MAX_STORE_BACKOFF_MS = 30_000;

interface CycleResult {
  claimed: number;
  limit: number;
  failed: boolean;
  sends: Promise<void>[];
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
  private readonly settings: ResolvedDispatcherSettings;
  private readonly sender: AlarmChannelSender;
  private readonly slots: AlarmSendSlots;
  private readonly settlements: AlarmSettlementWriter;
  private readonly outbox: AlarmOutboxCounts;
  private readonly alarmOutbox: AlarmOutbox;

  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private cycling: Promise<void> | undefined;
  /** The end of the last cycle started: each cycle waits for it (see `cycle()`). */
  private lastCycle: Promise<unknown> = Promise.resolve();
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private storeFailures = 0;
  private readonly counters: AlarmDeliveryCounters = {
    sent: 0,
    delivered: 0,
    failedAttempts: 0,
    dead: 0,
  };
  private lastError: { message: string; at: string } | undefined;

  /**
   * @param store a store whose `alarmOutbox` is defined.
   * @param notifiers the notifier of each channel name.
   * @param settings delivery settings.
   * @param fold builds a digest message from the oldest members of a group and its size.
   * @param log receives dead letters (`error`), failed attempts (`warn`) and store failures.
   * @param now the clock, epoch milliseconds (claims and schedules use it; tests pass a fake).
   * @throws AuditConfigurationError when the store keeps no outbox or a setting is out of range.
   */
  constructor(
    private readonly store: AuditStore,
    notifiers: ReadonlyMap<string, AlarmNotifier>,
    settings: AlarmDispatcherSettings,
    private readonly fold: AlarmDigestFold,
    private readonly log: AlarmDispatcherLogger = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    const alarmOutbox = store.alarmOutbox;
    if (alarmOutbox === undefined) {
      throw new AuditConfigurationError(
        `nestjs-audit: alarms need ${noAlarmOutboxFix(store)} Or remove the "alarms" option.`,
      );
    }
    this.alarmOutbox = alarmOutbox;
    this.settings = resolveDispatcherSettings(settings, notifiers.keys());
    this.sender = new AlarmChannelSender(notifiers, this.settings);
    this.slots = new AlarmSendSlots(this.settings);
    this.settlements = new AlarmSettlementWriter(alarmOutbox, store.engine, (message) =>
      this.noteError(message),
    );
    this.outbox = new AlarmOutboxCounts(alarmOutbox, this.settings.statsIntervalMs);
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
    await this.slots.drain(deadlineMs);
    await this.cycling?.catch(() => undefined);
    await this.settlements.retryPending();
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
      inFlight: this.slots.size,
      unsettled: this.settlements.pending,
    };
    if (this.lastError) {
      stats.lastError = this.lastError.message;
      stats.lastErrorAt = this.lastError.at;
    }
    this.outbox.addTo(stats);
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
    let next = this.settings.pollIntervalMs;
    this.cycling = this.cycle()
      .then(({ claimed, limit, failed }) => {
        if (failed) {
          next = Math.min(
            MAX_STORE_BACKOFF_MS,
            this.settings.pollIntervalMs * 2 ** (this.storeFailures - 1),
          );
        } else if (claimed > 0 && claimed === limit) {
          // A full batch: more may be due.
          next = 0;
        }
      })
      .catch((error: unknown) =>
        this.noteError(`nestjs-audit: alarm delivery loop: ${messageOf(error)}`),
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

  /** Retries pending settlements, refreshes counts, claims and starts the sends. */
  private async cycleNow(): Promise<CycleResult> {
    await this.settlements.retryPending();
    await this.outbox.refresh(this.now());
    const { limit, excludeChannels } = this.slots.claimLimits();
    if (limit <= 0) return { claimed: 0, limit, failed: false, sends: [] };
    const claims = await this.claim(limit, excludeChannels);
    if (claims === undefined) return { claimed: 0, limit, failed: true, sends: [] };
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

  /** Claims up to `limit` due messages. @returns undefined when the store failed (logged). */
  private async claim(limit: number, excludeChannels: string[]): Promise<AlarmClaim[] | undefined> {
    try {
      const request: AlarmClaimRequest = {
        now: this.now(),
        limit,
        leaseMs: this.settings.leaseMs,
        owner: this.settings.owner,
        listSize: this.settings.digestListSize,
      };
      if (excludeChannels.length > 0) request.excludeChannels = excludeChannels;
      const claims = await this.alarmOutbox.claim(request);
      this.storeFailures = 0;
      return claims;
    } catch (error) {
      this.storeFailures += 1;
      const message = `nestjs-audit: could not claim alarms from the ${this.store.engine} store: ${messageOf(error)}. Alarms stay in the outbox; trying again in a moment.`;
      // One error per outage, then quieter: the store's own health reports the rest.
      this.noteError(message, this.storeFailures === 1 ? 'error' : 'warn');
      return undefined;
    }
  }

  private track(claim: AlarmClaim): Promise<void> {
    return this.slots.run(
      claim.alarm.channel,
      (send) =>
        this.deliver(claim, send).catch((error: unknown) =>
          this.noteError(
            `nestjs-audit: alarm delivery of ${claim.alarm.dedupKey}: ${messageOf(error)}`,
          ),
        ),
      // A slot is free (perhaps of a channel that was at its cap): more may be waiting.
      () => this.wake(),
    );
  }

  private async deliver(claim: AlarmClaim, send: AlarmSend): Promise<void> {
    const attempt = claim.alarm.attempts + 1;
    const at = this.now();
    const started = performance.now();
    const failure = await this.sender.send(
      claim.alarm.channel,
      () => claimMessage(claim, this.fold, (message) => this.noteError(message)),
      attempt,
      send.controller,
    );
    // Aborted by stop(): not the alarm's fault, so no attempt is counted; the lease expires and
    // the message goes out later. A send that completed before the abort is settled as usual.
    if (send.shutdown && failure !== undefined) return;
    const durationMs = Math.round(performance.now() - started);
    const outcome = attemptOutcome(
      claim,
      { attempt, at, durationMs },
      failure,
      this.settings,
      this.now(),
    );
    countOutcome(this.counters, outcome);
    if (outcome.note) this.noteError(outcome.note.message, outcome.note.level);
    await this.settlements.write(outcome.settlement);
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
