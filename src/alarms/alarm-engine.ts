/**
 * Turns recorded events into outbox entries: which rules match, for which channels, with what
 * message. Pure and synchronous: it runs inside the write path of every recorded event, so the
 * pipeline can store the alarms in the same transaction as the events they are about.
 */
import type { AuditEvent } from '../event/audit-event';
import { eventWithChangeSet, type AuditChangeSet } from '../event/change-set';
import { summarizeEvent } from './alarm-event-summary';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import type { CompiledAlarmRule, CompiledAlarmRules } from './alarm-rule';
import { watchedFirst } from './change-watch';
import {
  renderRuleText,
  ruleAlarmEntries,
  ruleContext,
  type RuleAlarmSettings,
} from './rule-alarm';
import { ThresholdAlarms } from './threshold-alarms';
import { DEFAULT_MAX_OPEN_WINDOWS } from './threshold-windows';
import { AuditConfigurationError } from '../common/audit-configuration.error';

/** How the engine reports and bounds. */
export interface AlarmEngineOptions {
  /**
   * Called when a rule's `when` throws, or anything else fails while a rule is evaluated; the
   * rule then counts as not matching. Log it: a throwing rule never raises its alarm.
   */
  onRuleError?: (rule: string, error: unknown) => void;
  /**
   * Open threshold windows kept per rule (one per `groupBy` value and window), so a flood of
   * distinct keys cannot grow memory without limit. Windows whose time is over go first; if an
   * open one must still go, it is the one with the lowest count (see `ThresholdWindows`), and
   * the rule raises a `windows-dropped` alarm on its channels.
   * @default 10000
   */
  maxOpenWindowsPerRule?: number;
}

/** Distinct actions whose candidate rules are remembered (actions come from code: few). */
const MAX_CACHED_ACTIONS = 1_000;

/**
 * Evaluates the compiled rules against each recorded event and returns the outbox entries to
 * store with it: one per matching rule and channel.
 *
 * - plain rules: kind `event`, dedup key `<rule>:<channel>:<event id>`, the same whenever the
 *   same event is evaluated again (a spool replay stores nothing twice);
 * - `throttle` rules: the same, plus `digestKey` `<rule>:<channel>` and `throttleMs`, which the
 *   dispatcher uses to fold them into digests;
 * - `threshold` rules: matching events are counted per `groupBy` value in tumbling windows
 *   (`floor(event time / window) * window`); the event that brings a count to `count` returns
 *   one entry per channel of kind `threshold`, dedup key
 *   `<rule>:<channel>:<group>:<window start>`, so it fires once per window and key, also across
 *   instances. Counts live in this object's memory: each application instance counts its own
 *   events, and a restart starts the open windows again. The windows of a rule are bounded by
 *   `maxOpenWindowsPerRule` without a blind spot (see `ThresholdWindows`): a forced drop of an
 *   open window returns `windows-dropped` entries on the rule's channels (see
 *   `windowsDroppedEntries`), stored with the event like every other alarm.
 *
 * `evaluate()` never throws: a rule whose `when` throws does not match and is reported to
 * `onRuleError`.
 *
 * @example
 * ```ts
 * const engine = new AlarmEngine(compileAlarmRules(rules, ['ops'], { serviceName: 'billing' }), {
 *   onRuleError: (rule, error) => logger.error(`alarm rule ${rule} failed`, error),
 * });
 * const entries = engine.evaluate(event);
 * ```
 */
export class AlarmEngine {
  private readonly rules: readonly CompiledAlarmRule[];
  private readonly settings: RuleAlarmSettings;
  private readonly onRuleError: ((rule: string, error: unknown) => void) | undefined;
  /** Rules whose action matcher accepts an action, in rule order; computed once per action. */
  private readonly candidatesByAction = new Map<string, readonly CompiledAlarmRule[]>();
  private readonly thresholds: ThresholdAlarms;

  /**
   * @param compiled - output of `compileAlarmRules`
   * @param options - error callback and bounds
   */
  constructor(compiled: CompiledAlarmRules, options: AlarmEngineOptions = {}) {
    this.rules = compiled.rules;
    this.settings = {
      serviceName: compiled.serviceName,
      viewerUrl: compiled.viewerUrl,
      digestListSize: compiled.digestListSize,
    };
    this.onRuleError = options.onRuleError;
    const max = options.maxOpenWindowsPerRule ?? DEFAULT_MAX_OPEN_WINDOWS;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new AuditConfigurationError(
        `AlarmEngine: maxOpenWindowsPerRule must be a whole number of at least 1 (got ${String(max)}).`,
      );
    }
    this.thresholds = new ThresholdAlarms(this.rules, { ...this.settings, maxOpenWindows: max });
  }

  /** Number of rules. */
  get ruleCount(): number {
    return this.rules.length;
  }

  /** Open threshold windows held in memory, all rules together (for health and metrics). */
  openThresholdWindows(): number {
    return this.thresholds.openWindows;
  }

  /**
   * The outbox entries an event raises (often none).
   *
   * With the event's complete change set, every rule (its `changed`, `transition` and `when`
   * conditions, and the templates of its message) sees the event as it was before the size
   * caps cut its diff: every changed field with its whole value. Without it, rules see the
   * event as recorded.
   *
   * @param event - the recorded event, as stored (already redacted)
   * @param now - current time in ms (used for `createdAt` and to drop closed threshold windows);
   *   `Date.now()` when left out, read only when a rule matches
   * @param changes - the complete change set `buildAuditEvent` made for the event (see
   *   `takeAuditChangeSet`)
   */
  evaluate(event: AuditEvent, now?: number, changes?: AuditChangeSet): AlarmOutboxEntry[] {
    if (this.rules.length === 0) return [];
    const candidates = this.candidates(event.action);
    if (candidates.length === 0) return [];
    const subject = changes === undefined ? event : eventWithChangeSet(event, changes);
    let out: AlarmOutboxEntry[] | undefined;
    let time = now;
    for (const rule of candidates) {
      try {
        if (!rule.matchesBesidesAction(subject)) continue;
        time ??= Date.now();
        const shown = rule.watches === undefined ? subject : watchedFirst(subject, rule.watches);
        const entries = rule.threshold
          ? this.thresholds.entries(rule, rule.threshold, shown, time)
          : this.eventEntries(rule, shown, time);
        if (entries.length > 0) (out ??= []).push(...entries);
      } catch (error) {
        this.report(rule.name, error);
      }
    }
    return out ?? [];
  }

  private candidates(action: unknown): readonly CompiledAlarmRule[] {
    const key = typeof action === 'string' ? action : '';
    const cached = this.candidatesByAction.get(key);
    if (cached !== undefined) return cached;
    const list = this.rules.filter((rule) => rule.action === undefined || rule.action.test(key));
    // Actions are written in code, so this stays small; the bound only guards odd callers.
    if (this.candidatesByAction.size >= MAX_CACHED_ACTIONS) this.candidatesByAction.clear();
    this.candidatesByAction.set(key, list);
    return list;
  }

  private report(rule: string, error: unknown): void {
    try {
      this.onRuleError?.(rule, error);
    } catch {
      // The callback is a logger; its own failure must not reach the request.
    }
  }

  private eventEntries(
    rule: CompiledAlarmRule,
    event: AuditEvent,
    now: number,
  ): AlarmOutboxEntry[] {
    const { serviceName, viewerUrl } = this.settings;
    const text = renderRuleText(rule, ruleContext(rule, event, 1, serviceName));
    const summary = summarizeEvent(event, text.body.text, viewerUrl);
    return ruleAlarmEntries(
      rule,
      {
        kind: 'event',
        ...text,
        count: 1,
        events: [summary],
        firstAt: event.timestamp,
        lastAt: event.timestamp,
        url: summary.url,
        eventId: event.id,
        createdAt: new Date(now).toISOString(),
        service: serviceName,
      },
      (channel) => `${rule.name}:${channel}:${event.id}`,
    );
  }
}
