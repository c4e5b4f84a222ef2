/**
 * The alarm a threshold rule raises on its own channels when memory forced it to drop open
 * windows: a threshold it may have missed is a blind spot its readers must hear about.
 */
import { ALARM_SEVERITIES, type AlarmMessage, type AlarmSeverity } from '../stores/alarm-message';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import type { CompiledAlarmRule } from './alarm-rule';
import type { CompiledThreshold } from './alarm-rule-threshold';
import type { DroppedWindows } from './threshold-windows';

/** Kind (and dedup key part) of the alarm a rule raises when it dropped open windows. */
export const WINDOWS_DROPPED_KIND = 'windows-dropped';

/**
 * Lowest severity of a windows-dropped alarm: an attacker who floods a rule with distinct keys
 * is hiding something from it, whatever the rule's own severity.
 */
const MIN_SEVERITY: AlarmSeverity = 'high';

/** What {@link windowsDroppedEntries} needs besides the rule. */
export interface WindowsDroppedSettings {
  /** `maxOpenWindowsPerRule`, named in the text. */
  maxOpenWindows: number;
  /** `serviceName`. */
  serviceName: string;
  /** Current time in ms: the report's time. */
  now: number;
}

function atLeast(severity: AlarmSeverity, floor: AlarmSeverity): AlarmSeverity {
  return ALARM_SEVERITIES.indexOf(severity) >= ALARM_SEVERITIES.indexOf(floor) ? severity : floor;
}

/**
 * One outbox entry per channel of `rule` saying how many of its open windows were dropped,
 * the highest count among them and when. Kind `windows-dropped`, severity the rule's but at
 * least `high`, dedup key `<rule>:<channel>:windows-dropped:<report time>`: the windows keep
 * at most one report per window length, so a sustained flood raises one alarm per window length.
 */
export function windowsDroppedEntries(
  rule: CompiledAlarmRule,
  threshold: CompiledThreshold,
  dropped: DroppedWindows,
  settings: WindowsDroppedSettings,
): AlarmOutboxEntry[] {
  const severity = atLeast(rule.severity, MIN_SEVERITY);
  const createdAt = new Date(settings.now).toISOString();
  const firstAt = new Date(dropped.firstDropMs).toISOString();
  const lastAt = new Date(dropped.lastDropMs).toISOString();
  const per = threshold.groupBy === undefined ? '' : ` per ${threshold.groupBy}`;
  const plural = dropped.windows === 1 ? 'window' : 'windows';
  const title = `${rule.name}: ${dropped.windows} open threshold ${plural} dropped`;
  const text =
    `Rule ${rule.name} (${threshold.count} events within ${threshold.window}${per}) dropped ` +
    `${dropped.windows} open ${plural} below its threshold between ${firstAt} and ${lastAt}, ` +
    `because it keeps at most ${settings.maxOpenWindows} open windows ` +
    `(alarms.maxOpenWindowsPerRule). The largest had counted ${dropped.largestCount} of ` +
    `${threshold.count} events (${dropped.events} in all); their next events count from zero, ` +
    'so a threshold may have been missed. Many distinct keys at once may be an attempt to hide ' +
    'from this rule: look at the events of this rule in that time, and raise ' +
    'alarms.maxOpenWindowsPerRule if the traffic is legitimate.';
  return rule.channels.map((channel) => {
    const dedupKey = `${rule.name}:${channel}:${WINDOWS_DROPPED_KIND}:${settings.now}`;
    const message: AlarmMessage = {
      id: dedupKey,
      rule: rule.name,
      channel,
      kind: WINDOWS_DROPPED_KIND,
      severity,
      title,
      text,
      count: dropped.events,
      events: [],
      firstAt,
      lastAt,
      service: settings.serviceName,
    };
    return {
      dedupKey,
      rule: rule.name,
      channel,
      kind: WINDOWS_DROPPED_KIND,
      severity,
      createdAt,
      message,
    };
  });
}
