/**
 * The open windows of one threshold rule, bounded in memory without a blind spot an attacker can
 * steer: see {@link ThresholdWindows}.
 */
import type { AlarmEventSummary } from '../stores/alarm-message';

/** Default of `alarms.maxOpenWindowsPerRule`. */
export const DEFAULT_MAX_OPEN_WINDOWS = 10_000;

/** Counting state of one threshold window of one `groupBy` value. */
export interface WindowState {
  /** Map key: `<group>\u0000<window start>`. */
  readonly key: string;
  /** Window start (ms since the epoch). */
  readonly start: number;
  count: number;
  fired: boolean;
  /** The first events counted (at most the digest list size), in arrival order. */
  readonly events: AlarmEventSummary[];
  firstAt: string;
  firstMs: number;
  lastAt: string;
  lastMs: number;
}

/** Open windows dropped for memory since the last report of a rule. */
export interface DroppedWindows {
  /** How many windows were dropped before their time was over and below the threshold. */
  windows: number;
  /** Events those windows had counted, all together. */
  events: number;
  /** The highest count among them. */
  largestCount: number;
  /** When the first and the last of them were dropped (ms since the epoch). */
  firstDropMs: number;
  lastDropMs: number;
}

/** Fewest milliseconds between two sweeps forced by a full rule (a sweep visits every window). */
const MIN_FORCED_SWEEP_MS = 1_000;

/**
 * Open windows of one threshold rule, at most `max` of them.
 *
 * - Time first: a window whose time is over can never reach its threshold (only a late event
 *   could still count in it), so dropping it loses nothing. Windows are swept one window length
 *   after their end (the grace for late events), and at once when the rule is full.
 * - When memory still forces a drop, the window dropped is the one least likely to matter: a
 *   window that already fired (its alarm is raised; if it comes back, its alarm has the same
 *   dedup key and is stored once), else the lowest count, the longest at that count first. A
 *   spray of single events from distinct keys thus only pushes out other single events, never
 *   the key with 4 of 5 failures.
 * - Every drop of a window still open and below its threshold is recorded and handed out by
 *   {@link takeDropReport}, at most once per window length, so the rule can say so.
 *
 * Windows sit in buckets by count (a `Set` per count keeps arrival order), so counting an
 * event and choosing a window to drop are O(1) amortised: on the per-event path.
 */
export class ThresholdWindows {
  private readonly open = new Map<string, WindowState>();
  /** `[0]`: fired windows; `[c]`: windows below the threshold with count `c`. */
  private readonly buckets: Set<WindowState>[] = [new Set()];
  /** No bucket below this one holds a window (a lower bound: buckets above may be empty). */
  private lowest = 0;
  private oldestStart = Number.POSITIVE_INFINITY;
  private nextSweepAt = 0;
  private nextForcedSweepAt = 0;
  private dropped: DroppedWindows | undefined;
  private nextReportAt = Number.NEGATIVE_INFINITY;

  /**
   * @param windowMs - the rule's window length
   * @param max - most windows kept open (`maxOpenWindowsPerRule`)
   */
  constructor(
    private readonly windowMs: number,
    private readonly max: number,
  ) {}

  /** Windows held. */
  get size(): number {
    return this.open.size;
  }

  /**
   * Counts one event in the window `key` (starting at `start`), opening it if needed; when the
   * rule is full, first makes room as the class comment describes.
   *
   * @param create - makes the new window's state (count 0) when there is none
   * @returns the window, its count already raised by one
   */
  count(key: string, start: number, now: number, create: () => WindowState): WindowState {
    if (now >= this.nextSweepAt) this.sweep(now - 2 * this.windowMs, now);
    let state = this.open.get(key);
    if (state === undefined) {
      if (this.open.size >= this.max) this.makeRoom(now);
      state = create();
      this.open.set(key, state);
      if (start < this.oldestStart) this.oldestStart = start;
    } else if (!state.fired) {
      this.bucket(state.count).delete(state);
    }
    state.count += 1;
    if (!state.fired) this.enter(state.count, state);
    return state;
  }

  /** Marks a window as fired: it is the first to go when room is needed. */
  fire(state: WindowState): void {
    if (state.fired) return;
    this.bucket(state.count).delete(state);
    state.fired = true;
    this.enter(0, state);
  }

  /**
   * The windows dropped for memory since the last report, if there were any and the last report
   * is at least one window length ago; the next report then waits one window length.
   *
   * @returns undefined when there is nothing to report yet
   */
  takeDropReport(now: number): DroppedWindows | undefined {
    const dropped = this.dropped;
    if (dropped === undefined || now < this.nextReportAt) return undefined;
    this.dropped = undefined;
    this.nextReportAt = now + this.windowMs;
    return dropped;
  }

  private bucket(count: number): Set<WindowState> {
    let bucket = this.buckets[count];
    if (bucket === undefined) {
      // Counts grow one by one, so every lower bucket exists already.
      bucket = new Set();
      this.buckets[count] = bucket;
    }
    return bucket;
  }

  private enter(bucketIndex: number, state: WindowState): void {
    this.bucket(bucketIndex).add(state);
    if (bucketIndex < this.lowest) this.lowest = bucketIndex;
  }

  private makeRoom(now: number): void {
    if (this.oldestStart + this.windowMs <= now && now >= this.nextForcedSweepAt) {
      this.nextForcedSweepAt = now + Math.min(this.windowMs, MIN_FORCED_SWEEP_MS);
      this.sweep(now - this.windowMs, now);
      if (this.open.size < this.max) return;
    }
    for (let index = this.lowest; index < this.buckets.length; index += 1) {
      const victim = this.buckets[index]?.values().next().value;
      if (victim === undefined) continue;
      this.lowest = index;
      this.remove(victim);
      if (!victim.fired && victim.start + this.windowMs > now) this.recordDrop(victim, now);
      return;
    }
  }

  private remove(state: WindowState): void {
    this.open.delete(state.key);
    this.bucket(state.fired ? 0 : state.count).delete(state);
  }

  private recordDrop(state: WindowState, now: number): void {
    const dropped = (this.dropped ??= {
      windows: 0,
      events: 0,
      largestCount: 0,
      firstDropMs: now,
      lastDropMs: now,
    });
    dropped.windows += 1;
    dropped.events += state.count;
    if (state.count > dropped.largestCount) dropped.largestCount = state.count;
    dropped.lastDropMs = now;
  }

  /** Drops every window that started at or before `horizon` (their time is over: no loss). */
  private sweep(horizon: number, now: number): void {
    let oldest = Number.POSITIVE_INFINITY;
    for (const state of this.open.values()) {
      if (state.start <= horizon) this.remove(state);
      else if (state.start < oldest) oldest = state.start;
    }
    this.oldestStart = oldest;
    this.nextSweepAt = now + Math.max(this.windowMs, MIN_FORCED_SWEEP_MS);
  }
}
