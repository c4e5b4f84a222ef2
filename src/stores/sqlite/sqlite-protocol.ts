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
import type { ChainHead, ChainRow, UnchainedEvent } from '../../integrity/chain-source';
import type { NormalizedAuditQuery } from '../audit-query-model';
import type { AlarmColumns } from '../alarm-columns';
import { relayedAuditError } from './sqlite-relayed-error';

/*
 * What the SQLite store asks of its connection, as plain data. The same requests are handled on
 * the caller's thread (a `database` given by the application) or posted to the store's worker
 * thread (a `path`), so they carry only what structured clone copies cheaply: events travel as
 * arrays of column values plus their JSON text, never as event objects.
 */

/** One event as the store inserts it: the indexed columns, then the event's JSON text. */
export type SqliteEventRow = [
  id: string,
  ts: number,
  action: string,
  outcome: string,
  actorId: string | null,
  resourceType: string | null,
  resourceId: string | null,
  requestId: string | null,
  tenant: string | null,
  schemaVersion: number,
  payload: string,
];

/** Index of the payload (the event's JSON text) in a {@link SqliteEventRow}: the columns before it are the indexed ones. */
export const SQLITE_PAYLOAD_COLUMN = 10;

/** What one `append()` stores in one transaction: events, and the alarm entries they raised. */
export interface SqliteAppend {
  /** The events, in order. */
  rows: SqliteEventRow[];
  /** The alarm outbox entries, unique by dedup key. */
  alarms: AlarmColumns[];
}

/** One operation of the store on its connection. */
export type SqliteRequest =
  | ({ op: 'append' } & SqliteAppend)
  | { op: 'query'; query: NormalizedAuditQuery }
  | { op: 'history'; resourceType: string; resourceId: string }
  | { op: 'get'; id: string }
  | { op: 'claimAlarms'; request: AlarmClaimRequest }
  | { op: 'settleAlarms'; settlements: readonly AlarmSettlement[] }
  | { op: 'listAlarms'; query: AlarmListQuery | undefined }
  | { op: 'listAlarmAttempts'; query: AlarmAttemptQuery | undefined }
  | { op: 'alarmStats' }
  | { op: 'unstreamed'; appendedBy: number; limit: number }
  | { op: 'markStreamed'; ids: readonly string[] }
  | { op: 'chainRows'; after: number; limit: number }
  | { op: 'chainRowAt'; seq: number }
  | { op: 'chainHead' }
  | { op: 'unchainedEvents'; limit: number };

/**
 * What each operation returns. Reads of events return their texts (`query`, `history` and `get`:
 * the chain sequence number, a comma and the JSON; see `sqliteEventOf`), parsed by the caller:
 * an array of strings crosses the thread boundary faster than the objects (structured clone of
 * 228 parsed events took longer to receive than `JSON.parse` of their texts) and than one joined
 * string, and parsing each text costs the same as parsing them joined.
 */
export interface SqliteResults {
  append: undefined;
  query: string[];
  history: string[];
  get: string | undefined;
  claimAlarms: AlarmClaim[];
  settleAlarms: boolean[];
  listAlarms: StoredAlarm[];
  listAlarmAttempts: AlarmAttempt[];
  alarmStats: AlarmOutboxStats;
  unstreamed: string[];
  markStreamed: undefined;
  chainRows: ChainRow[];
  chainRowAt: { position: number; hash: Uint8Array | null } | undefined;
  chainHead: ChainHead | undefined;
  unchainedEvents: UnchainedEvent[];
}

/** The result type of one request. */
export type SqliteResult<R extends SqliteRequest> = SqliteResults[R['op']];

/** Runs requests on one open connection, wherever that connection lives. */
export interface SqliteBackend {
  /** Runs one request; failures are rejections. */
  call<R extends SqliteRequest>(request: R): Promise<SqliteResult<R>>;
  /** Closes the connection (and the thread it runs on). */
  close(): Promise<void>;
}

/** Settings of a connection, chosen by the store's options. */
export interface SqliteConnectionSettings {
  /** `PRAGMA synchronous`. */
  synchronous: 'NORMAL' | 'FULL';
  /** `PRAGMA busy_timeout`, in milliseconds. */
  busyTimeoutMs: number;
  /** Permissions of the database file when it is created. */
  fileMode: number;
}

/** Messages from the store to its worker. */
export type SqliteWorkerCall =
  | { id: number; kind: 'open' }
  | { id: number; kind: 'close' }
  | { id: number; kind: 'request'; request: SqliteRequest };

/** An error as it crosses the thread boundary. */
export interface SqliteErrorData {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  /** The error's `cause`, when it is an error too (an open failure keeps the driver's error). */
  cause?: SqliteErrorData;
}

/** Causes carried across the thread boundary, at most: a chain of wrapped errors stays short. */
const MAX_CAUSE_DEPTH = 3;

/** Messages from the worker to the store: the outcome of one call. */
export type SqliteWorkerReply =
  { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SqliteErrorData };

/** An error reduced to what the other thread needs to rebuild it. */
export function errorData(error: unknown, depth = 0): SqliteErrorData {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const data: SqliteErrorData = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') data.code = code;
  if (error.stack !== undefined) data.stack = error.stack;
  if (error.cause instanceof Error && depth < MAX_CAUSE_DEPTH) {
    data.cause = errorData(error.cause, depth + 1);
  }
  return data;
}

/**
 * Rebuilds an error in the caller's realm, with the same message, name, code and cause, so
 * callers can match it exactly as if it had been thrown on their thread: nestjs-audit's own as
 * the AuditError of its code (`instanceof AuditError` and `code` hold), the driver's and Node's
 * as the plain Error, TypeError or RangeError they were.
 */
export function errorFromData(data: SqliteErrorData): Error {
  const error =
    relayedAuditError(data.code, data.message) ??
    (data.name === 'TypeError'
      ? new TypeError(data.message)
      : data.name === 'RangeError'
        ? new RangeError(data.message)
        : new Error(data.message));
  if (error.name !== data.name) {
    Object.defineProperty(error, 'name', { value: data.name, configurable: true, writable: true });
  }
  if (data.code !== undefined) Object.assign(error, { code: data.code });
  if (data.stack !== undefined) error.stack = data.stack;
  if (data.cause !== undefined) {
    Object.defineProperty(error, 'cause', {
      value: errorFromData(data.cause),
      configurable: true,
      writable: true,
    });
  }
  return error;
}
