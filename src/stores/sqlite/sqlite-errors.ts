import { AuditError } from '../../common/audit-error';
import { AuditStoreError } from '../../common/audit-store.error';
import { reasonOf } from '../../common/message-of';

/** What to do about a driver failure, by the first part of SQLite's result code. */
const HINT_OF_CODE: Readonly<Record<string, string>> = {
  SQLITE_BUSY:
    'Another connection held the database lock for the whole busy timeout (busyTimeoutMs): try again later, or give the store a longer busyTimeoutMs.',
  SQLITE_LOCKED:
    'A transaction on the same connection held the table: try again once it has ended.',
  SQLITE_FULL: 'The disk (or the quota of the file system) is full: free space, then try again.',
  SQLITE_READONLY:
    'The process may not write the database, its -wal file or its directory: check their owner and permissions.',
  SQLITE_IOERR: 'The operating system reported an I/O error: check the disk and its file system.',
  SQLITE_CORRUPT:
    'The database file is damaged: restore it from a backup, then verify the trail (`nestjs-audit verify`).',
  SQLITE_NOTADB: 'The file is not a SQLite database.',
};

/** SQLite's primary result code of a driver error (`SQLITE_BUSY` of `SQLITE_BUSY_SNAPSHOT`). */
function primaryCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined;
  const second = code.indexOf('_', 'SQLITE_'.length);
  return second === -1 ? code : code.slice(0, second);
}

/**
 * The error a `SqliteAuditStore` call rejects with: an error of nestjs-audit as it is; anything
 * else (better-sqlite3's `SqliteError`, a Node error) wrapped in an `AuditStoreError` that says
 * what could not be done, on which database, why and what to do, with the driver's error as
 * `cause` (its `code`, e.g. `SQLITE_BUSY`, stays readable there) — as the PostgreSQL store does.
 * @param location the database's resolved path (or name), for the message
 * @param operation the request that failed (`append`, `query`, `claimAlarms`, …)
 */
export function sqliteStoreError(location: string, operation: string, error: unknown): Error {
  if (error instanceof AuditError) return error;
  const code = primaryCode(error);
  const hints = [code === undefined ? undefined : HINT_OF_CODE[code]];
  if (operation === 'append') {
    hints.push(
      'Retrying the batch is safe: appends are idempotent by event id and alarm dedup key.',
    );
  }
  const hint = hints.filter((text) => text !== undefined).join(' ');
  const reason = reasonOf(error).replace(/\.$/, '');
  return new AuditStoreError(
    `SqliteAuditStore could not run ${operation} ("${location}"): ${reason}.${hint === '' ? '' : ` ${hint}`}`,
    { cause: error },
  );
}
