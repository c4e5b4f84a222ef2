import type { AlarmOutbox } from '../../src/stores/alarm-outbox';
import { requireAlarmOutbox } from '../../src/stores/alarm-outbox';
import type { AuditStore } from '../../src/stores/audit-store';

/** The alarm outbox of a store the test configured with one (fails the test otherwise). */
export function outboxOf(store: AuditStore): AlarmOutbox {
  return requireAlarmOutbox(store, 'this test');
}
