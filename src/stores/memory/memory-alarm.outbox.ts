import type {
  AlarmAttempt,
  AlarmAttemptQuery,
  AlarmClaim,
  AlarmClaimRequest,
  AlarmListQuery,
  AlarmOutboxEntry,
  AlarmOutboxStats,
  AlarmSettlement,
  StoredAlarm,
} from '../alarm-outbox-model';
import {
  alarmAttemptOf,
  storedAlarmOf,
  uniqueAlarmColumns,
  type AlarmAttemptRow,
  type AlarmRow,
} from '../alarm-columns';
import {
  byClaimOrder,
  checkClaimRequest,
  newLeaseToken,
  toSettlementColumns,
} from '../alarm-leases';
import { AlarmOutbox } from '../alarm-outbox';
import { normalizeAlarmAttemptQuery, normalizeAlarmListQuery } from '../alarm-queries';
import { settle } from '../settle';

/**
 * The alarm outbox of the in-memory store: the same semantics as the SQL engines (see
 * {@link AlarmOutbox}), kept in maps indexed the way claims read them so that a test with
 * thousands of entries stays fast. Everything handed out is a fresh copy.
 */
export class MemoryAlarmOutbox extends AlarmOutbox {
  /** Every entry, by seq (seq - 1 is the index). */
  private rows: AlarmRow[] = [];
  private readonly byKey = new Map<string, AlarmRow>();
  /** Entries that may be claimable: pending with a next attempt time. */
  private readonly due = new Set<AlarmRow>();
  /** Digest entries not in a group yet, per digest key, oldest first. */
  private readonly waiting = new Map<string, AlarmRow[]>();
  /** Members of each digest group, by head seq, oldest first. */
  private readonly groups = new Map<number, AlarmRow[]>();
  /** When each digest key may form its next group (epoch ms). */
  private readonly gates = new Map<string, number>();
  private attempts: AlarmAttemptRow[] = [];

  /**
   * Validates `entries` and returns the function that stores them, so the caller can validate
   * its events too before anything changes (all or none).
   * @throws AlarmInputError for the first invalid entry.
   */
  prepare(entries: readonly AlarmOutboxEntry[] | undefined): () => void {
    const columns = uniqueAlarmColumns(entries);
    return () => {
      for (const c of columns) {
        if (this.byKey.has(c.dedupKey)) continue;
        const row: AlarmRow = {
          seq: this.rows.length + 1,
          ...c,
          status: 'pending',
          attempts: 0,
          nextAttemptAt: c.createdAt,
          leaseUntil: null,
          leaseOwner: null,
          settledAt: null,
          lastError: null,
          groupHead: null,
          deliveredWith: null,
        };
        this.rows.push(row);
        this.byKey.set(row.dedupKey, row);
        this.due.add(row);
        if (row.digestKey !== null) {
          const list = this.waiting.get(row.digestKey);
          if (list) list.push(row);
          else this.waiting.set(row.digestKey, [row]);
        }
      }
    };
  }

  /** See `AlarmOutbox.claim`. */
  claim(request: AlarmClaimRequest): Promise<AlarmClaim[]> {
    return settle(() => {
      checkClaimRequest(request);
      const { now } = request;
      const excluded = new Set(request.excludeChannels);
      this.formGroups(now, request.limit, excluded);
      const units = [...this.due]
        .filter(
          (row) =>
            (row.nextAttemptAt as number) <= now &&
            (row.leaseUntil === null || row.leaseUntil <= now) &&
            (row.digestKey === null || row.groupHead === row.seq) &&
            !excluded.has(row.channel),
        )
        .sort(byClaimOrder)
        .slice(0, request.limit);
      const lease = newLeaseToken(request.owner);
      return units.map((row) => {
        row.leaseUntil = now + request.leaseMs;
        row.leaseOwner = lease;
        const group = row.digestKey === null ? undefined : this.groups.get(row.seq);
        return {
          alarm: storedAlarmOf(row),
          lease,
          members: (group ?? []).slice(0, request.listSize).map(storedAlarmOf),
          count: group?.length ?? 1,
        };
      });
    });
  }

  /** See `AlarmOutbox.settle`. */
  settle(settlements: readonly AlarmSettlement[]): Promise<boolean[]> {
    return settle(() => {
      const all = settlements.map(toSettlementColumns);
      return all.map((s) => {
        this.attempts.push({ alarmSeq: s.seq, ...s.attempt });
        const row = this.rows[s.seq - 1];
        if (row === undefined || row.status !== 'pending') return false;
        if (s.result !== 'delivered' && row.leaseOwner !== s.lease) return false;
        row.attempts += 1;
        row.leaseUntil = null;
        row.leaseOwner = null;
        if (s.error !== null) row.lastError = s.error;
        if (s.result === 'failed') {
          row.nextAttemptAt = s.nextAttemptAt;
          return true;
        }
        const members = row.groupHead === row.seq ? (this.groups.get(row.seq) ?? [row]) : [row];
        for (const member of members) {
          if (member.status !== 'pending') continue;
          member.status = s.result;
          member.settledAt = s.at;
          member.nextAttemptAt = null;
          if (s.result === 'delivered' && member.groupHead !== null) member.deliveredWith = row.seq;
          if (s.result === 'dead' && s.error !== null) member.lastError = s.error;
          this.due.delete(member);
        }
        return true;
      });
    });
  }

  /** See `AlarmOutbox.list`. */
  list(query?: AlarmListQuery): Promise<StoredAlarm[]> {
    return settle(() => {
      const q = normalizeAlarmListQuery(query);
      const out: StoredAlarm[] = [];
      for (let i = this.rows.length - 1; i >= 0 && out.length < q.limit; i--) {
        const row = this.rows[i] as AlarmRow;
        if (q.status !== undefined && row.status !== q.status) continue;
        if (q.rule !== undefined && row.rule !== q.rule) continue;
        if (q.channel !== undefined && row.channel !== q.channel) continue;
        if (q.dedupKey !== undefined && row.dedupKey !== q.dedupKey) continue;
        if (q.digestKey !== undefined && row.digestKey !== q.digestKey) continue;
        out.push(storedAlarmOf(row));
      }
      return out;
    });
  }

  /** See `AlarmOutbox.listAttempts`. */
  listAttempts(query?: AlarmAttemptQuery): Promise<AlarmAttempt[]> {
    return settle(() => {
      const q = normalizeAlarmAttemptQuery(query);
      const out: AlarmAttempt[] = [];
      for (let i = this.attempts.length - 1; i >= 0 && out.length < q.limit; i--) {
        const row = this.attempts[i] as AlarmAttemptRow;
        if (q.dedupKey !== undefined && row.dedupKey !== q.dedupKey) continue;
        if (q.channel !== undefined && row.channel !== q.channel) continue;
        if (q.result !== undefined && row.result !== q.result) continue;
        out.push(alarmAttemptOf(row));
      }
      return out;
    });
  }

  /** See `AlarmOutbox.stats`. */
  stats(): Promise<AlarmOutboxStats> {
    return settle(() => {
      const stats: AlarmOutboxStats = { pending: 0, delivered: 0, dead: 0 };
      let oldest: number | undefined;
      for (const row of this.rows) {
        stats[row.status as 'pending' | 'delivered' | 'dead'] += 1;
        if (row.status === 'pending' && (oldest === undefined || row.createdAt < oldest)) {
          oldest = row.createdAt;
        }
      }
      if (oldest !== undefined) stats.oldestPendingAt = new Date(oldest).toISOString();
      return stats;
    });
  }

  /** Forgets every entry, attempt and throttle period. */
  clear(): void {
    this.rows = [];
    this.attempts = [];
    this.byKey.clear();
    this.due.clear();
    this.waiting.clear();
    this.groups.clear();
    this.gates.clear();
  }

  /**
   * Turns the waiting entries of each digest key with a due entry into one group, when the key's
   * throttle period is over; otherwise postpones them to the end of that period. Keys whose
   * due entries are all of `excluded` channels are left as they are.
   */
  private formGroups(now: number, limit: number, excluded: ReadonlySet<string>): void {
    let formed = 0;
    for (const [key, waiting] of this.waiting) {
      if (formed >= limit) break;
      const due = (row: AlarmRow) =>
        (row.nextAttemptAt as number) <= now && !excluded.has(row.channel);
      if (!waiting.some(due)) continue;
      const openAt = this.gates.get(key);
      if (openAt !== undefined && openAt > now) {
        for (const row of waiting)
          row.nextAttemptAt = Math.max(row.nextAttemptAt as number, openAt);
        continue;
      }
      const head = waiting[0] as AlarmRow;
      for (const row of waiting) {
        row.groupHead = head.seq;
        if (row === head) {
          row.nextAttemptAt = now;
        } else {
          row.nextAttemptAt = null;
          this.due.delete(row);
        }
      }
      this.groups.set(head.seq, waiting);
      this.waiting.delete(key);
      this.gates.set(key, now + (head.throttleMs as number));
      formed += 1;
    }
  }
}
