import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqliteDatabase } from './sqlite-driver';
import { SqliteInspector } from './sqlite-inspector';
import { migrateSqliteSchema, SQLITE_SCHEMA_VERSION } from './sqlite.schema';

describe('SqliteInspector', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sqlite-inspector-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function open(file: string, options?: Database.Options): SqliteDatabase {
    return new Database(file, options);
  }

  it('sees version 0 and no events in a database nestjs-audit never migrated', () => {
    const db = open(':memory:');
    try {
      db.exec('CREATE TABLE notes (body TEXT)');
      const inspector = new SqliteInspector(db);
      expect(inspector.schemaVersion()).toBe(0);
      expect(inspector.hasEvents()).toBe(false);
      expect(inspector.hasTable('notes')).toBe(true);
    } finally {
      db.close();
    }
  });

  it("follows the migrations: each step's version, and the tables it made", () => {
    const db = open(':memory:');
    try {
      migrateSqliteSchema(db, ':memory:');
      const inspector = new SqliteInspector(db);
      expect(inspector.schemaVersion()).toBe(SQLITE_SCHEMA_VERSION);
      expect(inspector.hasEvents()).toBe(true);
      expect(inspector.hasTable('audit_payloads')).toBe(true);
      expect(inspector.hasTable('audit_alarms')).toBe(true);
      expect(inspector.hasTable('audit_events_v3')).toBe(false);
    } finally {
      db.close();
    }
  });

  it('counts only tables: an index or a view of that name is not one', () => {
    const db = open(':memory:');
    try {
      db.exec('CREATE TABLE t (x); CREATE VIEW audit_events AS SELECT x FROM t;');
      db.exec('CREATE INDEX audit_payloads ON t (x)');
      const inspector = new SqliteInspector(db);
      expect(inspector.hasEvents()).toBe(false);
      expect(inspector.hasTable('audit_payloads')).toBe(false);
    } finally {
      db.close();
    }
  });

  it('answers on a query_only connection and leaves the folder and the file as they were', () => {
    const file = join(dir, 'audit.db');
    const writer = open(file);
    writer.pragma('journal_mode = WAL');
    migrateSqliteSchema(writer, file);
    writer.close();
    expect(readdirSync(dir)).toEqual(['audit.db']);
    const reader = open(file, { fileMustExist: true });
    try {
      reader.pragma('query_only = ON');
      const inspector = new SqliteInspector(reader);
      expect(inspector.schemaVersion()).toBe(SQLITE_SCHEMA_VERSION);
      expect(inspector.hasEvents()).toBe(true);
    } finally {
      reader.close();
    }
    expect(readdirSync(dir)).toEqual(['audit.db']);
  });

  it('passes on the driver error for a file that is not a database', () => {
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'not a database\n'.repeat(100));
    const db = open(file, { fileMustExist: true });
    try {
      const inspector = new SqliteInspector(db);
      expect(() => inspector.hasEvents()).toThrow(/file is not a database/);
      expect(() => inspector.schemaVersion()).toThrow(/file is not a database/);
    } finally {
      db.close();
    }
  });
});
