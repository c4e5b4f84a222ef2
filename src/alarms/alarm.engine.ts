/**
 * Turns recorded events into outbox entries: which rules match, for which channels, with what
 * message. Pure and synchronous: it runs inside the write path of every recorded event, so the
 * pipeline can store the alarms in the same transaction as the events they are about.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent } from '../event/audit-event';
import { eventWithChangeSet, type AuditChangeSet } from '../event/change-set';
import { summarizeEvent } from './alarm-event-summary';
import type { AlarmEventSummary, AlarmMessage } from './alarm-message';
import type { AlarmOutboxEntry } from './alarm-outbox';
import type { CompiledAlarmRule, CompiledAlarmRules } from './alarm-rule';
import { viewerListUrl, type ViewerListFilter } from './alarm-rule-links';
import type { CompiledThreshold } from './alarm-rule-threshold';
import type { AlarmTemplateContext, RenderedAlarmText } from './alarm-template';
import { renderValue } from './alarm-template-values';
import { watchedFirst } from './change-watch';
import { DEFAULT_MAX_OPEN_WINDOWS, ThresholdWindows, type WindowState } from './threshold-windows';
import { windowsDroppedEntries } from './windows-dropped';
import { neutralizeMrkdwn } from './notifiers/slack-mrkdwn';

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

/** Longest `groupBy` value kept as it is in a dedup key; longer ones are hashed. */
const MAX_GROUP_KEY_CHARS = 128;
/** Distinct actions whose candidate rules are remembered (actions come from code: few). */
const MAX_CACHED_ACTIONS = 1_000;
const NO_GROUP = '*';

function eventTimeMs(event: AuditEvent, now: number): number {
  const ms = typeof event.timestamp === 'string' ? Date.parse(event.timestamp) : Number.NaN;
  return Number.isNaN(ms) ? now : ms;
}

/**
 * The `text` and `slackText` of a message rendered from a rule's template; `slackText` only when
 * the template's own markup makes it differ from the neutralized text the notifier would send.
 */
function messageText(rendered: RenderedAlarmText): Pick<AlarmMessage, 'text' | 'slackText'> {
  return rendered.slack === neutralizeMrkdwn(rendered.text)
    ? { text: rendered.text }
    : { text: rendered.text, slackText: rendered.slack };
}

function groupText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((item) => groupText(item)).join(',');
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}

/** A group value safe to put in a dedup key: as it is when short, else a hash of it. */
function groupDedupPart(group: string): string {
  if (group === '') return '-';
  if (group.length <= MAX_GROUP_KEY_CHARS) return group;
  return `sha256:${createHash('sha256').update(group).digest('hex').slice(0, 32)}`;
}

function oldestFirst(events: readonly AlarmEventSummary[]): AlarmEventSummary[] {
  return events
    .map((summary, index) => ({ summary, index, ms: Date.parse(summary.timestamp) }))
    .sort((a, b) => (a.ms === b.ms || Number.isNaN(a.ms - b.ms) ? a.index - b.index : a.ms - b.ms))
    .map(({ summary }) => summary);
}

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
  private readonly serviceName: string;
  private readonly viewerUrl: string | undefined;
  private readonly digestListSize: number;
  private readonly onRuleError: ((rule: string, error: unknown) => void) | undefined;
  private readonly maxOpenWindows: number;
  /** Rules whose action matcher accepts an action, in rule order; computed once per action. */
  private readonly candidatesByAction = new Map<string, readonly CompiledAlarmRule[]>();
  private readonly windows = new Map<CompiledAlarmRule, ThresholdWindows>();

  /**
   * @param compiled - output of `compileAlarmRules`
   * @param options - error callback and bounds
   */
  constructor(compiled: CompiledAlarmRules, options: AlarmEngineOptions = {}) {
    this.rules = compiled.rules;
    this.serviceName = compiled.serviceName;
    this.viewerUrl = compiled.viewerUrl;
    this.digestListSize = compiled.digestListSize;
    this.onRuleError = options.onRuleError;
    const max = options.maxOpenWindowsPerRule ?? DEFAULT_MAX_OPEN_WINDOWS;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(
        `AlarmEngine: maxOpenWindowsPerRule must be a whole number of at least 1 (got ${String(max)}).`,
      );
    }
    this.maxOpenWindows = max;
    for (const rule of this.rules) {
      if (rule.threshold)
        this.windows.set(rule, new ThresholdWindows(rule.threshold.windowMs, max));
    }
  }

  /** Number of rules. */
  get ruleCount(): number {
    return this.rules.length;
  }

  /** Open threshold windows held in memory, all rules together (for health and metrics). */
  openThresholdWindows(): number {
    let total = 0;
    for (const windows of this.windows.values()) total += windows.size;
    return total;
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
          ? this.thresholdEntries(rule, rule.threshold, shown, time)
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

  private context(rule: CompiledAlarmRule, event: AuditEvent, count: number): AlarmTemplateContext {
    return { event, rule: rule.name, severity: rule.severity, service: this.serviceName, count };
  }

  private eventEntries(
    rule: CompiledAlarmRule,
    event: AuditEvent,
    now: number,
  ): AlarmOutboxEntry[] {
    const context = this.context(rule, event, 1);
    const title = rule.title.render(context);
    const body = messageText(rule.message.renderMarkup(context));
    const summary = summarizeEvent(event, body.text, this.viewerUrl);
    const createdAt = new Date(now).toISOString();
    return rule.channels.map((channel) => {
      const dedupKey = `${rule.name}:${channel}:${event.id}`;
      const message: AlarmMessage = {
        id: dedupKey,
        rule: rule.name,
        channel,
        kind: 'event',
        severity: rule.severity,
        title,
        ...body,
        count: 1,
        events: [summary],
        firstAt: event.timestamp,
        lastAt: event.timestamp,
        service: this.serviceName,
      };
      if (summary.url !== undefined) message.url = summary.url;
      return this.entry(rule, channel, dedupKey, 'event', event.id, createdAt, message);
    });
  }

  private entry(
    rule: CompiledAlarmRule,
    channel: string,
    dedupKey: string,
    kind: 'event' | 'threshold',
    eventId: string,
    createdAt: string,
    message: AlarmMessage,
  ): AlarmOutboxEntry {
    const entry: AlarmOutboxEntry = {
      dedupKey,
      rule: rule.name,
      channel,
      kind,
      severity: rule.severity,
      eventId,
      createdAt,
      message,
    };
    if (rule.throttleMs !== undefined) {
      entry.digestKey = `${rule.name}:${channel}`;
      entry.throttleMs = rule.throttleMs;
    }
    return entry;
  }

  private thresholdEntries(
    rule: CompiledAlarmRule,
    threshold: CompiledThreshold,
    event: AuditEvent,
    now: number,
  ): AlarmOutboxEntry[] {
    const windows = this.windows.get(rule) as ThresholdWindows;
    const eventMs = eventTimeMs(event, now);
    const start = Math.floor(eventMs / threshold.windowMs) * threshold.windowMs;
    const group = threshold.readGroup ? groupText(threshold.readGroup(event)) : '';
    const key = `${group}\u0000${start}`;
    const state = windows.count(key, start, now, () => ({
      key,
      start,
      count: 0,
      fired: false,
      events: [],
      firstAt: event.timestamp,
      firstMs: eventMs,
      lastAt: event.timestamp,
      lastMs: eventMs,
    }));
    const dropped = windows.takeDropReport(now);
    const report =
      dropped === undefined
        ? []
        : windowsDroppedEntries(rule, threshold, dropped, {
            maxOpenWindows: this.maxOpenWindows,
            serviceName: this.serviceName,
            now,
          });
    if (eventMs < state.firstMs) {
      state.firstMs = eventMs;
      state.firstAt = event.timestamp;
    }
    if (eventMs >= state.lastMs) {
      state.lastMs = eventMs;
      state.lastAt = event.timestamp;
    }
    if (state.events.length < this.digestListSize) {
      const eventContext = this.context(rule, event, 1);
      state.events.push(summarizeEvent(event, rule.eventText.render(eventContext), this.viewerUrl));
    }
    if (state.fired || state.count < threshold.count) return report;
    windows.fire(state);
    return [...report, ...this.crossedEntries(rule, threshold, event, state, group, now)];
  }

  private crossedEntries(
    rule: CompiledAlarmRule,
    threshold: CompiledThreshold,
    event: AuditEvent,
    state: WindowState,
    group: string,
    now: number,
  ): AlarmOutboxEntry[] {
    const start = state.start;
    const window = threshold.window;
    const context: AlarmTemplateContext = {
      ...this.context(rule, event, state.count),
      window,
      ...(threshold.groupBy === undefined ? {} : { group }),
    };
    const title = rule.title.render(context);
    const body = messageText(rule.message.renderMarkup(context));
    const events = oldestFirst(state.events);
    const createdAt = new Date(now).toISOString();
    const groupPart = threshold.groupBy === undefined ? NO_GROUP : groupDedupPart(group);
    let url: string | undefined;
    if (this.viewerUrl !== undefined) {
      const filter: ViewerListFilter = {
        from: new Date(start).toISOString(),
        to: new Date(start + threshold.windowMs).toISOString(),
      };
      if (events.every((summary) => summary.action === event.action)) filter.action = event.action;
      if (threshold.groupBy === 'actor.id' && group !== '') filter.actor = group;
      url = viewerListUrl(this.viewerUrl, filter);
    }
    return rule.channels.map((channel) => {
      const dedupKey = `${rule.name}:${channel}:${groupPart}:${start}`;
      const message: AlarmMessage = {
        id: dedupKey,
        rule: rule.name,
        channel,
        kind: 'threshold',
        severity: rule.severity,
        title,
        ...body,
        count: state.count,
        events,
        firstAt: state.firstAt,
        lastAt: state.lastAt,
        service: this.serviceName,
      };
      if (threshold.groupBy !== undefined)
        message.groupKey = renderValue(group === '' ? undefined : group);
      if (url !== undefined) message.url = url;
      return this.entry(rule, channel, dedupKey, 'threshold', event.id, createdAt, message);
    });
  }
}
