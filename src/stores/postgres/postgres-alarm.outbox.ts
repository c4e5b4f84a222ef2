import type {
  AlarmAttempt,
  AlarmAttemptQuery,
  AlarmClaim,
  AlarmClaimRequest,
  AlarmListQuery,
  AlarmOutboxStats,
  AlarmSettlement,
  StoredAlarm,
} from '../alarm-outbox-model';
import { AlarmOutbox } from '../alarm-outbox';
import { checkClaimRequest, excludedChannelsOf, toSettlementColumns } from '../alarm-leases';
import { claimPostgresAlarms } from './postgres-alarm-claim';
import { alarmAttemptsOf, alarmStatsOf, storedAlarmsOf } from './postgres-alarm-rows';
import type { PostgresAlarmStatements } from './postgres-alarm-statements';
import { readRows, type PostgresConnections } from './postgres-connections';
import { postgresStoreError } from './postgres-errors';
import type { PostgresNames } from './postgres-names';
import type { PostgresStatement } from './postgres-query';

/**
 * The alarm outbox of the PostgreSQL store (tables `<table>_alarms`, `<table>_alarm_tries`,
 * `<table>_alarm_keys`), on the store's connections. Each operation asks the store for the
 * statements of its tables first, which fails while the store is not open.
 */
export class PostgresAlarmOutbox extends AlarmOutbox {
  /**
   * @param connections the store's connections.
   * @param names the store's tables, for the claim and error messages.
   * @param statements the outbox statements of those tables, once the store is open; throws
   *   naming `operation` before `init()` and after `close()`.
   */
  constructor(
    private readonly connections: PostgresConnections,
    private readonly names: PostgresNames,
    private readonly statements: (operation: string) => PostgresAlarmStatements,
  ) {
    super();
  }

  /**
   * Leases due alarm messages (see `AlarmOutbox.claim`). Several instances may claim at
   * once: rows are picked with `FOR UPDATE SKIP LOCKED`, so each message goes to one of them.
   * When nothing is due this is one read and takes no lock.
   */
  async claim(request: AlarmClaimRequest): Promise<AlarmClaim[]> {
    checkClaimRequest(request);
    const statements = this.statements('claim');
    try {
      const [[due] = []] = await this.connections.rows(
        statements.anyDue(request.now, excludedChannelsOf(request)),
      );
      if (due !== true) return [];
      return await this.connections.withSession((session) =>
        session.transaction((sql) => claimPostgresAlarms(sql, this.names, request)),
      );
    } catch (error) {
      throw this.failure('claim alarms', error);
    }
  }

  /** Records attempts and settles their messages (see `AlarmOutbox.settle`). */
  async settle(settlements: readonly AlarmSettlement[]): Promise<boolean[]> {
    const all = settlements.map(toSettlementColumns);
    const outbox = this.statements('settle');
    if (all.length === 0) return [];
    const statements = all.map((settlement) => outbox.settle(settlement));
    try {
      const results = await this.connections.withSession(async (session) => {
        const [only] = statements;
        if (this.connections.owned && statements.length === 1 && only) {
          return [await session.sql(only.text, only.values)];
        }
        return session.transaction(async (sql) => {
          const out: unknown[][][] = [];
          for (const statement of statements) out.push(await sql(statement.text, statement.values));
          return out;
        });
      });
      return results.map((rows) => Number(rows[0]?.[0] ?? 0) > 0);
    } catch (error) {
      throw this.failure('settle alarms', error);
    }
  }

  /** Outbox entries, newest first. */
  async list(query?: AlarmListQuery): Promise<StoredAlarm[]> {
    const statement = this.statements('list').list(query);
    return storedAlarmsOf(await this.rows('list alarms', statement));
  }

  /** Recorded delivery attempts, newest first. */
  async listAttempts(query?: AlarmAttemptQuery): Promise<AlarmAttempt[]> {
    const statement = this.statements('listAttempts').listAttempts(query);
    return alarmAttemptsOf(await this.rows('list alarm attempts', statement));
  }

  /** Outbox entries per status. */
  async stats(): Promise<AlarmOutboxStats> {
    return alarmStatsOf(await this.rows('count alarms', this.statements('stats').stats()));
  }

  private rows(what: string, statement: PostgresStatement): Promise<unknown[][]> {
    return readRows(this.connections, this.names.qualifiedTable, what, statement);
  }

  private failure(what: string, error: unknown): Error {
    return postgresStoreError(this.names.qualifiedTable, what, error);
  }
}
