/**
 * One event as an alarm lists it: who did what to which target, the changed fields and a link
 * to the event in the viewer.
 */
import type { AuditEvent } from '../event/audit-event';
import type { AlarmEventSummary } from '../stores/alarm-message';
import { viewerEventUrl } from './alarm-rule-links';
import { alarmChanges, renderValue } from './alarm-template-values';

/** Most changed fields an event summary lists (the `{changes}` text counts the rest). */
export const MAX_SUMMARY_CHANGES = 50;

function optionalText(value: unknown): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : renderValue(value);
}

/**
 * One event as an alarm lists it.
 *
 * @param event - the recorded (redacted) event
 * @param text - the rendered one-line text for it
 * @param viewerUrl - normalised `alarms.viewerUrl`, if set
 */
export function summarizeEvent(
  event: AuditEvent,
  text: string,
  viewerUrl: string | undefined,
): AlarmEventSummary {
  const actor = event.actor;
  const summary: AlarmEventSummary = {
    id: event.id,
    timestamp: event.timestamp,
    action: event.action,
    outcome: event.outcome,
    actor: { type: optionalText(actor?.type) ?? 'anonymous' },
    changes: Array.isArray(event.changes?.diff)
      ? alarmChanges(event.changes.diff, MAX_SUMMARY_CHANGES)
      : [],
    text,
  };
  const id = optionalText(actor?.id);
  if (id !== undefined) summary.actor.id = id;
  const name = optionalText(actor?.name);
  if (name !== undefined) summary.actor.name = name;
  const email = optionalText(actor?.email);
  if (email !== undefined) summary.actor.email = email;
  if (event.target && typeof event.target.type === 'string') {
    summary.target = { type: renderValue(event.target.type) };
    const targetId = optionalText(event.target.id);
    if (targetId !== undefined) summary.target.id = targetId;
  }
  const ip = optionalText(event.source?.ip);
  if (ip !== undefined) summary.sourceIp = ip;
  if (viewerUrl !== undefined) summary.url = viewerEventUrl(viewerUrl, event.id);
  return summary;
}
