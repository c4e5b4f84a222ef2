/**
 * The event paths an alarm rule can read (`actor.id`, `source.ip`, `labels.<name>`): what a
 * template can show and what a threshold can group by.
 */
import type { AuditEvent } from '../event/audit-event';

/** Reads one value of an event. */
export type EventReader = (event: AuditEvent) => unknown;

/**
 * Event paths whose value a template can show and a threshold can group by, and how to read
 * each. `labels.<name>` is accepted besides these.
 */
const EVENT_READERS: Readonly<Record<string, EventReader>> = {
  id: (e) => e.id,
  timestamp: (e) => e.timestamp,
  action: (e) => e.action,
  outcome: (e) => e.outcome,
  level: (e) => e.level,
  message: (e) => e.message,
  tenant: (e) => e.tenant,
  durationMs: (e) => e.durationMs,
  'actor.id': (e) => e.actor?.id,
  'actor.name': (e) => e.actor?.name,
  'actor.email': (e) => e.actor?.email,
  'actor.type': (e) => e.actor?.type,
  'actor.roles': (e) => e.actor?.roles,
  'target.type': (e) => e.target?.type,
  'target.id': (e) => e.target?.id,
  'source.ip': (e) => e.source?.ip,
  'source.userAgent': (e) => e.source?.userAgent,
  'request.method': (e) => e.request?.method,
  'request.path': (e) => e.request?.path,
  'request.route': (e) => e.request?.route,
  'request.id': (e) => e.request?.id,
  'request.traceId': (e) => e.request?.traceId,
  'response.statusCode': (e) => e.response?.statusCode,
  'error.type': (e) => e.error?.type,
  'error.message': (e) => e.error?.message,
};

/** Event paths a threshold may group by (besides `labels.<name>`). */
export const ALARM_EVENT_PATHS: readonly string[] = Object.freeze(Object.keys(EVENT_READERS));

const LABEL_PREFIX = 'labels.';
const LABEL_NAME = /^[A-Za-z0-9_.:@/-]{1,100}$/;

/**
 * A reader for an event path (`actor.id`, `labels.region`), or `undefined` for an unknown one.
 *
 * @param path - a name from {@link ALARM_EVENT_PATHS} or `labels.<name>`
 */
export function eventPathReader(path: string): EventReader | undefined {
  if (Object.prototype.hasOwnProperty.call(EVENT_READERS, path)) return EVENT_READERS[path];
  if (path.startsWith(LABEL_PREFIX)) {
    const name = path.slice(LABEL_PREFIX.length);
    if (!LABEL_NAME.test(name)) return undefined;
    return (event) => {
      const labels = event.labels;
      return labels !== undefined && Object.prototype.hasOwnProperty.call(labels, name)
        ? labels[name]
        : undefined;
    };
  }
  return undefined;
}
