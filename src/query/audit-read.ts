import type { AuditRecordInput } from '../audit-record-input';
import type { AuditService } from '../audit.service';
import { AuditContext, type AuditContextStorage } from '../capture/audit-context';
import type { AuditHttpRequest } from '../capture/http-adapter';
import type { AuditEvent } from '../event/audit-event';

/** Action of the events that record reads of the trail (API calls and viewer pages). */
export const AUDIT_READ_ACTION = 'audit.read';

/**
 * Records a read of the trail as made by the user of `req`. The API and viewer routes are exempt
 * from the interceptor, so no context exists for them: one is opened for the request, which
 * gives the record the reader as actor, the source address, the request id, tenant and route,
 * exactly as the interceptor would.
 */
export function recordAuditRead(
  audit: AuditService,
  contexts: AuditContextStorage,
  req: AuditHttpRequest,
  requestId: string,
  read: Omit<AuditRecordInput, 'action'>,
): Promise<AuditEvent> {
  const input: AuditRecordInput = { action: AUDIT_READ_ACTION, ...read };
  if (contexts.current()?.request === req) return audit.record(input);
  return contexts.runUntilSettled(new AuditContext(req, requestId), () => audit.record(input));
}
