import type { AlarmOutbox } from '../alarm-outbox';
import type { AlarmOutboxEntry } from '../alarm-outbox-model';
import type { AuditEvent } from '../../event/audit-event';
import {
  encodeCursor,
  type AuditCursor,
  type AuditQueryResult,
  type NormalizedAuditQuery,
} from '../audit-query-model';
import { eventJson } from '../../event/event-json';
import { AuditStore } from '../audit-store';
import {
  compareEventPosition,
  toEventColumns,
  type AuditEventColumns,
} from '../../event/event-columns';
import { EQUALITY_FILTER_COLUMNS } from '../filter-columns';
import { settle } from '../settle';
import { MemoryAlarmOutbox } from './memory-alarm.outbox';

interface MemoryRecord {
  columns: AuditEventColumns;
  /** The event as JSON: a copy no caller can reach, parsed afresh for every read. */
  json: string;
}

function matches(c: AuditEventColumns, q: NormalizedAuditQuery): boolean {
  for (const [field] of EQUALITY_FILTER_COLUMNS) {
    const wanted = q[field];
    if (wanted !== undefined && c[field] !== wanted) return false;
  }
  return (q.fromMs === undefined || c.ts >= q.fromMs) && (q.toMs === undefined || c.ts < q.toMs);
}

function read(record: MemoryRecord): AuditEvent {
  return JSON.parse(record.json) as AuditEvent;
}

/**
 * An {@link AuditStore} that keeps events in memory, for the tests of applications that use
 * nestjs-audit. It follows the same contract as the persistent stores (ordering, paging,
 * filters, idempotent appends, the alarm outbox) and, like them, keeps JSON copies: mutating an
 * event after `append()`, or an event returned by a read, never changes the record.
 *
 * Records survive `close()`, so a test can still inspect them after the application shut down.
 *
 * @example
 * ```ts
 * const store = new InMemoryAuditStore();
 * const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
 *   .overrideProvider(AuditStore)
 *   .useValue(store)
 *   .compile();
 * // ... exercise the app ...
 * expect(store.all().map((e) => e.action)).toContain('user.update');
 * ```
 */
export class InMemoryAuditStore extends AuditStore {
  /** Engine name used in messages and health reports. */
  readonly engine = 'memory';

  /** Sorted by (ts, id) ascending, the order keyset paging walks. */
  private records: MemoryRecord[] = [];
  private readonly byId = new Map<string, MemoryRecord>();
  private readonly outbox = new MemoryAlarmOutbox();

  /**
   * Stores the events and alarm outbox entries that are not stored yet (by id, by dedup key);
   * all or none when one is invalid.
   */
  append(events: readonly AuditEvent[], alarms?: readonly AlarmOutboxEntry[]): Promise<void> {
    return settle(() => {
      const columns = events.map(toEventColumns);
      const storeAlarms = this.outbox.prepare(alarms);
      const fresh = new Map<string, MemoryRecord>();
      columns.forEach((c, i) => {
        if (this.byId.has(c.id) || fresh.has(c.id)) return;
        fresh.set(c.id, { columns: c, json: eventJson(events[i]!) });
      });
      for (const record of fresh.values()) this.insert(record);
      storeAlarms();
    });
  }

  /** One page of matching events, newest first. */
  query(query: NormalizedAuditQuery): Promise<AuditQueryResult> {
    return settle(() => {
      const start =
        query.before === undefined ? this.records.length : this.firstIndexAtOrAfter(query.before);
      const page: MemoryRecord[] = [];
      let more = false;
      for (let i = start - 1; i >= 0; i--) {
        const record = this.records[i] as MemoryRecord;
        if (!matches(record.columns, query)) continue;
        if (page.length === query.limit) {
          more = true;
          break;
        }
        page.push(record);
      }
      const result: AuditQueryResult = { items: page.map(read) };
      const last = page[page.length - 1];
      if (more && last) result.nextCursor = encodeCursor(last.columns);
      return result;
    });
  }

  /** Every event on one resource, oldest first. */
  history(resourceType: string, resourceId: string): Promise<AuditEvent[]> {
    return settle(() =>
      this.records
        .filter(
          (r) => r.columns.resourceType === resourceType && r.columns.resourceId === resourceId,
        )
        .map(read),
    );
  }

  /** One event by id, or `undefined`. */
  get(id: string): Promise<AuditEvent | undefined> {
    return settle(() => {
      const record = this.byId.get(id);
      return record === undefined ? undefined : read(record);
    });
  }

  /** Every stored event, oldest first (timestamp, then id). Each call returns fresh copies. */
  all(): AuditEvent[] {
    return this.records.map(read);
  }

  /** The outbox of the alarms stored by `append()`, kept in memory like the events. */
  override get alarmOutbox(): AlarmOutbox {
    return this.outbox;
  }

  /**
   * Forgets every stored event and alarm outbox entry, e.g. between two tests sharing one
   * application.
   */
  clear(): void {
    this.records = [];
    this.byId.clear();
    this.outbox.clear();
  }

  private insert(record: MemoryRecord): void {
    const last = this.records[this.records.length - 1];
    // Time-ordered ids make appending at the end the common case; skip the search then.
    if (last === undefined || compareEventPosition(last.columns, record.columns) < 0) {
      this.records.push(record);
    } else {
      this.records.splice(this.firstIndexAtOrAfter(record.columns), 0, record);
    }
    this.byId.set(record.columns.id, record);
  }

  private firstIndexAtOrAfter(position: AuditCursor): number {
    let low = 0;
    let high = this.records.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareEventPosition((this.records[mid] as MemoryRecord).columns, position) < 0) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    return low;
  }
}
