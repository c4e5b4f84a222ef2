/**
 * Threshold rules: matching events counted per `groupBy` value in tumbling windows, and the
 * alarm of the event that brings a window's count to the threshold.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent } from '../event/audit-event';
import { summarizeEvent } from './alarm-event-summary';
import type { AlarmEventSummary } from '../stores/alarm-message';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import type { CompiledAlarmRule } from './alarm-rule';
import { viewerListUrl, type ViewerListFilter } from './alarm-rule-links';
import type { CompiledThreshold } from './alarm-rule-threshold';
import type { AlarmTemplateContext } from './alarm-template';
import { renderValue } from './alarm-template-values';
import {
  renderRuleText,
  ruleAlarmEntries,
  ruleContext,
  type RuleAlarmSettings,
} from './rule-alarm';
import { ThresholdWindows, type WindowState } from './threshold-windows';
import { windowsDroppedEntries } from './windows-dropped';

/** Longest `groupBy` value kept as it is in a dedup key; longer ones are hashed. */
const MAX_GROUP_KEY_CHARS = 128;
const NO_GROUP = '*';

function eventTimeMs(event: AuditEvent, now: number): number {
  const ms = typeof event.timestamp === 'string' ? Date.parse(event.timestamp) : Number.NaN;
  return Number.isNaN(ms) ? now : ms;
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

/** Widens a window's period to hold an event's time. */
function stretch(state: WindowState, event: AuditEvent, eventMs: number): void {
  if (eventMs < state.firstMs) {
    state.firstMs = eventMs;
    state.firstAt = event.timestamp;
  }
  if (eventMs >= state.lastMs) {
    state.lastMs = eventMs;
    state.lastAt = event.timestamp;
  }
}

/** Settings of {@link ThresholdAlarms}. */
export interface ThresholdAlarmSettings extends RuleAlarmSettings {
  /** `maxOpenWindowsPerRule`, checked. */
  readonly maxOpenWindows: number;
}

/**
 * The threshold windows of all threshold rules, in memory: each application instance counts
 * its own events, and a restart starts the open windows again. The windows of a rule are
 * bounded by `maxOpenWindows` (see `ThresholdWindows`); a forced drop of an open window returns
 * `windows-dropped` entries on the rule's channels.
 */
export class ThresholdAlarms {
  private readonly windows = new Map<CompiledAlarmRule, ThresholdWindows>();

  /**
   * @param rules - all compiled rules (the ones without a threshold are skipped)
   * @param settings - what their alarms show and how many windows each may keep
   */
  constructor(
    rules: readonly CompiledAlarmRule[],
    private readonly settings: ThresholdAlarmSettings,
  ) {
    for (const rule of rules) {
      if (rule.threshold)
        this.windows.set(
          rule,
          new ThresholdWindows(rule.threshold.windowMs, settings.maxOpenWindows),
        );
    }
  }

  /** Open windows, all rules together. */
  get openWindows(): number {
    let total = 0;
    for (const windows of this.windows.values()) total += windows.size;
    return total;
  }

  /**
   * Counts an event a threshold rule matched; returns the entries of a crossed threshold (once
   * per window and group) and of dropped windows, often none.
   */
  entries(
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
    const report = this.dropReport(rule, threshold, windows, now);
    stretch(state, event, eventMs);
    if (state.events.length < this.settings.digestListSize) {
      const eventContext = ruleContext(rule, event, 1, this.settings.serviceName);
      const text = rule.eventText.render(eventContext);
      state.events.push(summarizeEvent(event, text, this.settings.viewerUrl));
    }
    if (state.fired || state.count < threshold.count) return report;
    windows.fire(state);
    return [...report, ...this.crossedEntries(rule, threshold, event, state, group, now)];
  }

  private dropReport(
    rule: CompiledAlarmRule,
    threshold: CompiledThreshold,
    windows: ThresholdWindows,
    now: number,
  ): AlarmOutboxEntry[] {
    const dropped = windows.takeDropReport(now);
    if (dropped === undefined) return [];
    return windowsDroppedEntries(rule, threshold, dropped, {
      maxOpenWindows: this.settings.maxOpenWindows,
      serviceName: this.settings.serviceName,
      now,
    });
  }

  private crossedEntries(
    rule: CompiledAlarmRule,
    threshold: CompiledThreshold,
    event: AuditEvent,
    state: WindowState,
    group: string,
    now: number,
  ): AlarmOutboxEntry[] {
    const grouped = threshold.groupBy !== undefined;
    const context: AlarmTemplateContext = {
      ...ruleContext(rule, event, state.count, this.settings.serviceName),
      window: threshold.window,
      ...(grouped ? { group } : {}),
    };
    const events = oldestFirst(state.events);
    const groupPart = grouped ? groupDedupPart(group) : NO_GROUP;
    return ruleAlarmEntries(
      rule,
      {
        kind: 'threshold',
        ...renderRuleText(rule, context),
        count: state.count,
        events,
        firstAt: state.firstAt,
        lastAt: state.lastAt,
        ...(grouped ? { groupKey: renderValue(group === '' ? undefined : group) } : {}),
        url: this.crossedUrl(threshold, event, state, group, events),
        eventId: event.id,
        createdAt: new Date(now).toISOString(),
        service: this.settings.serviceName,
      },
      (channel) => `${rule.name}:${channel}:${groupPart}:${state.start}`,
    );
  }

  /** The viewer's list of the window, narrowed to the action and actor when they are one. */
  private crossedUrl(
    threshold: CompiledThreshold,
    event: AuditEvent,
    state: WindowState,
    group: string,
    events: readonly AlarmEventSummary[],
  ): string | undefined {
    const viewerUrl = this.settings.viewerUrl;
    if (viewerUrl === undefined) return undefined;
    const filter: ViewerListFilter = {
      from: new Date(state.start).toISOString(),
      to: new Date(state.start + threshold.windowMs).toISOString(),
    };
    if (events.every((summary) => summary.action === event.action)) filter.action = event.action;
    if (threshold.groupBy === 'actor.id' && group !== '') filter.actor = group;
    return viewerListUrl(viewerUrl, filter);
  }
}
