import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeEvent } from '../../test/fixtures/events';
import type { AuditEvent } from '../event/audit-event';
import { SqliteAuditStore } from '../stores/sqlite/sqlite-audit.store';
import { StreamRelay, type RelayLines } from './stream-relay';

/** A stream whose flushes finish only when the test says so. */
class HeldLines implements RelayLines {
  readonly written: string[] = [];
  private readonly held: (() => void)[] = [];
  writeEvents(events: readonly AuditEvent[]): void {
    this.written.push(...events.map((event) => event.id));
  }
  flush(): Promise<void> {
    return new Promise((resolve) => this.held.push(resolve));
  }
  get flushes(): number {
    return this.held.length;
  }
  release(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('StreamRelay', () => {
  let dir: string;
  let db: Database.Database;
  let store: SqliteAuditStore;
  let lines: HeldLines;
  let reports: string[];
  let relay: StreamRelay;

  /** Commits events as an application's transaction does in atomic mode. */
  async function commitAtomically(events: AuditEvent[]): Promise<void> {
    const statements = await store.appendStatements(events);
    db.transaction(() => {
      for (const { text, values } of statements) {
        db.prepare(text).run(...(values as (string | number | null)[]));
      }
    })();
  }

  const backlog = () => store.unstreamed(0, 100).then((events) => events.map((e) => e.id));

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-relay-'));
    db = new Database(join(dir, 'app.db'));
    store = new SqliteAuditStore({ database: db, closeDatabase: false });
    await store.init();
    lines = new HeldLines();
    reports = [];
    relay = new StreamRelay(store, lines, (message) => reports.push(message));
  });

  afterEach(async () => {
    lines.release();
    await relay.close();
    await store.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('confirms written lines only once the stream has flushed them', async () => {
    const event = makeEvent();
    await commitAtomically([event]);
    relay.written([event]);
    await settled();
    expect(lines.flushes).toBe(1);
    expect(await backlog()).toEqual([event.id]);
    lines.release();
    await relay.close();
    expect(await backlog()).toEqual([]);
  });

  it('leaves a line handed over during a flush for the next confirmation', async () => {
    const [first, second] = [makeEvent(), makeEvent()];
    await commitAtomically([first, second]);
    relay.written([first]);
    await settled();
    relay.written([second]);
    lines.release();
    // The first flush confirms only the first event; the second waits for a flush of its own.
    for (let i = 0; i < 20 && lines.flushes === 0; i += 1) await settled();
    expect(lines.flushes).toBe(1);
    expect(await backlog()).toEqual([second.id]);
    lines.release();
    await relay.close();
    expect(await backlog()).toEqual([]);
  });

  it('sweeps only once started, and writes the lines a crash left in the backlog', async () => {
    const leftBehind = [makeEvent(), makeEvent()];
    await commitAtomically(leftBehind);
    await relay.sweep();
    expect(lines.written).toEqual([]);
    relay.start(60_000);
    // An event younger than the period belongs to a process that may still confirm it.
    await relay.sweep();
    expect(lines.written).toEqual([]);
    relay.start(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const sweep = relay.sweep();
    for (let i = 0; i < 20 && lines.flushes === 0; i += 1) await settled();
    expect(await backlog()).toHaveLength(2);
    lines.release();
    await sweep;
    expect([...lines.written].sort()).toEqual(leftBehind.map((event) => event.id).sort());
    expect(await backlog()).toEqual([]);
  });

  it('reports a confirmation that fails and keeps the event for a sweep', async () => {
    const event = makeEvent();
    await commitAtomically([event]);
    await store.close();
    relay.written([event]);
    lines.release();
    await settled();
    lines.release();
    await relay.close();
    expect(reports).toEqual([
      expect.stringMatching(
        /^could not confirm written ECS lines: SqliteAuditStore.markStreamed\(\) was called after close\(\)/,
      ),
    ]);
    expect(db.prepare('SELECT event_id FROM audit_stream_relay').pluck().all()).toEqual([event.id]);
  });
});
