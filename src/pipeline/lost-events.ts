import { messageOf } from '../common/message-of';
import type {
  AuditLostEvent,
  AuditPipelineFailure,
  AuditPipelineFailureReason,
} from '../ecs/pipeline-failure.formatter';
import type { AuditEvent } from '../event/audit-event';

/** Event ids for a log message: the first ten, then how many more. */
export function shownIds(ids: readonly string[]): string {
  return ids.length > 10
    ? `${ids.slice(0, 10).join(', ')} (+${ids.length - 10} more)`
    : ids.join(', ');
}

/**
 * The failure line's description of events the write path lost: their ids, actions and
 * request ids, never their payloads.
 */
export function lossOf(
  reason: AuditPipelineFailureReason,
  events: readonly AuditEvent[],
  store: string,
  message: string,
  cause?: unknown,
): AuditPipelineFailure {
  const failure: AuditPipelineFailure = {
    timestamp: new Date().toISOString(),
    reason,
    message,
    store,
    events: events.map(lostEvent),
  };
  if (cause !== undefined) {
    failure.error = {
      type: cause instanceof Error ? cause.name : typeof cause,
      message: messageOf(cause),
    };
  }
  return failure;
}

function lostEvent(event: AuditEvent): AuditLostEvent {
  const requestId = event.request?.id;
  return requestId !== undefined
    ? { id: event.id, action: event.action, requestId }
    : { id: event.id, action: event.action };
}
