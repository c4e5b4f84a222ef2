// Entry point `nestjs-audit/store`: what writing a store of one's own takes, kept apart from
// the main entry, which holds what an application uses. A store extends AuditStore (five
// members) and, to be used with alarms, returns an AlarmOutbox from `alarmOutbox`.
export { AuditStore } from './stores/audit-store';
export { AlarmOutbox } from './stores/alarm-outbox';
export type {
  AlarmAttempt,
  AlarmAttemptQuery,
  AlarmClaim,
  AlarmClaimRequest,
  AlarmListQuery,
  AlarmOutboxEntry,
  AlarmOutboxStats,
  AlarmSettlement,
  AlarmStatus,
  StoredAlarm,
} from './stores/alarm-outbox-model';
export type { AlarmKind, AlarmMessage, AlarmSeverity } from './stores/alarm-message';
export {
  encodeCursor,
  type AuditCursor,
  type AuditQueryFilters,
  type AuditQueryResult,
  type NormalizedAuditQuery,
} from './stores/audit-query-model';
export type { AuditEvent, AuditOutcome } from './event/audit-event';
// The error the built-in stores reject a bad event with (`code` AUDIT_RECORD_INVALID), so that
// a store of one's own can reject it the same way; the same class as the root export.
export { AuditRecordError } from './common/audit-record.error';
