import { runInNewContext } from 'node:vm';
import { AuditQueryError } from '../../common/audit-query.error';
import { AuditStoreError } from '../../common/audit-store.error';
import { sqliteStoreError } from './sqlite-errors';

/** An error as better-sqlite3 throws it: its class name, SQLite's message and result code. */
function driverError(message: string, code: string): Error {
  const error = Object.assign(new Error(message), { code });
  Object.defineProperty(error, 'name', { value: 'SqliteError' });
  return error;
}

describe('sqliteStoreError', () => {
  it('passes an error of nestjs-audit through as it is', () => {
    const own = new AuditQueryError('bad filter');
    expect(sqliteStoreError('/data/audit.db', 'query', own)).toBe(own);
  });

  it.each([
    ['SQLITE_BUSY', 'database is locked', /busy timeout \(busyTimeoutMs\)/],
    ['SQLITE_BUSY_SNAPSHOT', 'database is locked', /busy timeout \(busyTimeoutMs\)/],
    ['SQLITE_FULL', 'database or disk is full', /disk .* is full: free space/],
    ['SQLITE_READONLY_DIRECTORY', 'attempt to write a readonly database', /owner and permissions/],
    ['SQLITE_IOERR_FSYNC', 'disk I/O error', /I\/O error: check the disk/],
    ['SQLITE_CORRUPT', 'database disk image is malformed', /restore it from a backup/],
  ])('wraps %s with what to do about it, keeping the driver error as cause', (code, text, hint) => {
    const original = driverError(text, code);
    const error = sqliteStoreError('/data/audit.db', 'query', original);
    expect(error).toBeInstanceOf(AuditStoreError);
    expect(error.message).toMatch(
      new RegExp(`^SqliteAuditStore could not run query \\("/data/audit\\.db"\\): ${text}\\. `),
    );
    expect(error.message).toMatch(hint);
    expect(error.message).not.toContain('Retrying');
    expect(error.cause).toBe(original);
  });

  it('says that retrying an append is safe, and adds no hint it does not have', () => {
    const error = sqliteStoreError(
      '/data/audit.db',
      'append',
      driverError('constraint failed', 'SQLITE_CONSTRAINT_CHECK'),
    );
    expect(error.message).toBe(
      'SqliteAuditStore could not run append ("/data/audit.db"): constraint failed. Retrying the batch is safe: appends are idempotent by event id and alarm dedup key.',
    );
  });

  it('wraps a value that is no error, and an error without a code, with no hint', () => {
    expect(sqliteStoreError(':memory:', 'get', 'gone').message).toBe(
      'SqliteAuditStore could not run get (":memory:"): gone.',
    );
    expect(sqliteStoreError(':memory:', 'get', new TypeError('x is not a function')).message).toBe(
      'SqliteAuditStore could not run get (":memory:"): x is not a function.',
    );
  });

  it('reads an error of another realm by its message, without its class name', () => {
    // better-sqlite3 makes its errors in the realm that loaded it first (a test runner's).
    const foreign = runInNewContext(
      "Object.assign(new Error('refused by trigger'), { code: 'SQLITE_CONSTRAINT_TRIGGER' })",
    ) as Error;
    expect(foreign instanceof Error).toBe(false);
    expect(sqliteStoreError('/data/audit.db', 'get', foreign).message).toBe(
      'SqliteAuditStore could not run get ("/data/audit.db"): refused by trigger.',
    );
  });
});
