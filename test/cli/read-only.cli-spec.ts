import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../src/cli/store-opener';
import { SqliteAuditStore } from '../../src/stores/sqlite/sqlite-audit.store';
import { makeEvent } from '../fixtures/events';
import { cliDataset } from './cli-dataset';
import { runCli, seedSqlite, tempDir } from './cli-harness';

/*
 * The CLI only reads: it leaves the folder of a database as it found it (no -wal or -shm file
 * next to a file the application closed cleanly) and the file's bytes untouched.
 */

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

describe('the CLI on a SQLite file it only reads', () => {
  const { dir: root, remove } = tempDir();
  const dataset = cliDataset(Date.now());
  let count = 0;

  /** A folder of its own holding a database written by the store and closed cleanly. */
  async function seededFolder(): Promise<{ dir: string; db: string }> {
    const dir = join(root, `db-${++count}`);
    const db = join(dir, 'audit.db');
    await seedSqlite(db, dataset.all);
    return { dir, db };
  }

  afterAll(() => remove());

  it.each([
    ['query', ['query']],
    ['show', ['show', dataset.created.id]],
    ['history', ['history', 'user', '42']],
    ['verify', ['verify']],
    ['stats', ['stats', '--since', '3650d']],
    ['export', ['export', '--format', 'ndjson']],
    ['tail', ['tail', '-n', '3']],
  ])('%s leaves no -wal or -shm file and the database unchanged', async (_name, args) => {
    const { dir, db } = await seededFolder();
    expect(readdirSync(dir)).toEqual(['audit.db']);
    const before = sha256(db);
    const run = await runCli(['--db', db, ...args]);
    expect(run.stderr).not.toMatch(/^nestjs-audit:/m);
    expect(run.code).toBe(0);
    expect(readdirSync(dir)).toEqual(['audit.db']);
    expect(sha256(db)).toBe(before);
  });

  it('reads a database kept in another journal mode without switching it to WAL', async () => {
    const { dir, db } = await seededFolder();
    const raw = new Database(db);
    raw.pragma('journal_mode = DELETE');
    raw.close();
    const before = sha256(db);
    const run = await runCli(['--db', db, 'query', '--format', 'ndjson']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(dataset.all.length);
    expect(readdirSync(dir)).toEqual(['audit.db']);
    expect(sha256(db)).toBe(before);
  });

  it('leaves the files of an application that has the database open, and sees what it writes', async () => {
    const { dir, db } = await seededFolder();
    const app = new SqliteAuditStore({ path: db });
    await app.init();
    try {
      const late = makeEvent({ action: 'user.update' });
      await app.append([late]);
      const run = await runCli(['--db', db, 'show', late.id, '--format', 'json']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(late.id);
      expect(readdirSync(dir).sort()).toEqual(['audit.db', 'audit.db-shm', 'audit.db-wal']);
      await app.append([makeEvent({ action: 'user.update' })]);
    } finally {
      await app.close();
    }
    expect(readdirSync(dir)).toEqual(['audit.db']);
  });

  it('opens a connection that cannot write', async () => {
    const { db } = await seededFolder();
    const opened = await openStore({ kind: 'sqlite', path: db });
    try {
      // Read as properties: better-sqlite3 makes its errors in the realm of the test file that
      // loaded it first, where this file's `Error` is another class.
      const failure = await opened.store.append([makeEvent()]).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({
        code: 'AUDIT_STORE_FAILED',
        message: expect.stringMatching(
          /could not run append .*attempt to write a readonly database/,
        ),
        cause: { code: 'SQLITE_READONLY' },
      });
    } finally {
      await opened.close();
    }
  });
});
