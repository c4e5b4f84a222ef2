import { parse } from 'csv-parse/sync';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent } from '../../src/event/audit-event';
import { EXPORT_COLUMNS } from '../../src/query/export-format';
import { makeEvents } from '../fixtures/events';
import { PRELOADS } from './cli-build';
import { ids, ndjson, runCli, seedSqlite, tempDir } from './cli-harness';
import { cliDataset, type CliDataset } from './cli-dataset';
import { ENGINES, seedDatabase, type SeededDatabase } from './engines';

function newestFirst(events: readonly AuditEvent[]): string[] {
  return [...events]
    .sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp) || (a.id < b.id ? 1 : -1))
    .map((event) => event.id);
}

describe.each(ENGINES)('nestjs-audit export (%s)', (engine) => {
  const data: CliDataset = cliDataset(Date.now());
  // More than one page of 1000, so the cursor paging is exercised.
  const bulk = makeEvents(2_345, (i) => ({
    timestamp: new Date(Date.parse('2026-02-01T00:00:00Z') + i * 1_000).toISOString(),
    actor: { type: 'user', id: `bulk-${i % 3}`, authenticated: true },
  }));
  let db: SeededDatabase;
  let dir: string;
  let removeDir: () => void;

  beforeAll(async () => {
    db = await seedDatabase(engine, [...data.all, ...bulk]);
    ({ dir, remove: removeDir } = tempDir());
  });

  afterAll(async () => {
    removeDir?.();
    await db?.cleanup();
  });

  const cli = (...args: string[]) => runCli([...db.args, ...args]);

  it('writes every event as CSV when the file ends in .csv, and says so on stderr', async () => {
    const out = join(dir, 'all.csv');
    const run = await cli('export', '--out', out);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`Exported 2351 events (csv, newest first) to ${out}.\n`);
    const rows = parse<Record<string, string>>(readFileSync(out, 'utf8'), { columns: true });
    expect(Object.keys(rows[0] ?? {})).toEqual([...EXPORT_COLUMNS]);
    expect(rows.map((row) => row.id)).toEqual(newestFirst([...data.all, ...bulk]));
    expect(rows.find((row) => row.id === data.orderFailed.id)).toMatchObject({
      error: 'ConflictException: order 7 exists',
      status_code: '409',
      message: 'Order creation, refused',
    });
    // Written under a temporary name and renamed: nothing else is left in the directory.
    expect(readdirSync(dir)).toEqual(['all.csv']);
    // The trail's data, for the owner alone.
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('writes NDJSON to stdout, with filters, as full events', async () => {
    const run = await cli('export', '--actor', 'bulk-1', '--from', '2026-02-01T00:10:00Z');
    expect(run.code).toBe(0);
    const expected = bulk.filter(
      (event) =>
        event.actor.id === 'bulk-1' &&
        Date.parse(event.timestamp) >= Date.parse('2026-02-01T00:10:00Z'),
    );
    const events = ndjson(run.stdout);
    expect(ids(events)).toEqual(newestFirst(expected));
    // As stored, with the event's number in the chain the database keeps.
    expect(events[0]).toEqual({ ...expected[expected.length - 1], sequence: expect.any(Number) });
    expect(run.stderr).toBe(
      `Exported ${expected.length} events (ndjson, newest first) to stdout.\n`,
    );
  });

  it('honours --format over the extension, and - for stdout', async () => {
    const run = await cli('export', '--out', '-', '--format', 'csv', '--tenant', 'acme');
    const rows = parse<{ id: string }>(run.stdout, { columns: true });
    expect(rows.map((row) => row.id)).toEqual(
      newestFirst([data.created, data.phoneChanged, data.deleted]),
    );
    const file = join(dir, 'events.txt');
    await cli('export', '--out', file, '--format', 'ndjson', '--outcome', 'failure');
    expect(ids(ndjson(readFileSync(file, 'utf8')))).toEqual([data.orderFailed.id]);
  });

  it('keeps an existing file when the export cannot run', async () => {
    const file = join(dir, 'keep.ndjson');
    writeFileSync(file, 'previous export\n');
    const run = await cli('export', '--out', file, '--since', 'soon');
    expect(run.code).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('previous export\n');
  });

  it('reports a directory that does not exist', async () => {
    const run = await cli('export', '--out', join(dir, 'missing', 'x.csv'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^nestjs-audit: cannot write ".*missing\/x\.csv": .*ENOENT.* — check that its directory exists/,
    );
  });
});

describe('nestjs-audit export of 100,000 events (sqlite)', () => {
  const COUNT = 100_000;
  let dir: string;
  let removeDir: () => void;
  let file: string;

  beforeAll(async () => {
    ({ dir, remove: removeDir } = tempDir());
    file = join(dir, 'audit.db');
    const base = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < COUNT; i += 10_000) {
      // Built in slices, so the test process never holds every event either.
      await seedSqlite(
        file,
        makeEvents(10_000, (j) => ({
          timestamp: new Date(base + (i + j) * 10).toISOString(),
          actor: { type: 'user', id: `u-${(i + j) % 97}`, name: 'Ada', authenticated: true },
          request: { method: 'PATCH', path: `/users/${j}`, id: `req-${i + j}` },
          // ~1 KiB more per event (a ~160 MB file), so buffering the output could not hide in
          // the memory noise of the process.
          message: `note ${'x'.repeat(1024)}`,
          changes: {
            before: { phone: '+33 6 00 00 00 01' },
            after: { phone: '+33 6 00 00 00 02' },
            diff: [
              {
                path: ['phone'],
                op: 'changed',
                before: '+33 6 00 00 00 01',
                after: '+33 6 00 00 00 02',
              },
            ],
            fields: ['phone'],
          },
        })),
      );
    }
  }, 120_000);

  afterAll(() => {
    removeDir?.();
  });

  it('streams them to a file with a 48 MB heap (holding them would take ~150 MB)', async () => {
    const out = join(dir, 'all.ndjson');
    const run = await runCli(['--db', file, 'export', '--out', out], {
      nodeArgs: ['--max-old-space-size=48', '--require', PRELOADS.peakPending],
    });
    expect(run.stderr).toMatch(
      /^Exported 100000 events \(ndjson, newest first\) to .*all\.ndjson\.\npeak-pending-bytes=\d+\n$/,
    );
    expect(run.code).toBe(0);
    // The heap cap bounds JS objects (holding the events would exceed it and crash); Buffers
    // queued in a write stream live outside it, so the preload reports the most bytes ever
    // queued: an export that waits for 'drain' queues at most one page (1,000 events of ~1.6 KB
    // here), one that does not would queue most of the ~160 MB file.
    const pending = Number(/peak-pending-bytes=(\d+)/.exec(run.stderr)?.[1]);
    expect(pending).toBeGreaterThan(1000 * 1024);
    expect(pending).toBeLessThan(4 * 1024 * 1024);
    const text = readFileSync(out, 'utf8');
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(COUNT);
    expect(new Set(lines.map((line) => (JSON.parse(line) as AuditEvent).id)).size).toBe(COUNT);
    expect(readdirSync(dir).filter((name) => name.endsWith('.part'))).toEqual([]);
  });

  it('streams them as CSV to stdout', async () => {
    const run = await runCli(['--db', file, 'export', '--format', 'csv', '--actor', 'u-5'], {
      nodeArgs: ['--max-old-space-size=48'],
    });
    expect(run.code).toBe(0);
    const rows = parse<{ actor_id: string }>(run.stdout, { columns: true });
    expect(rows).toHaveLength(Math.ceil((COUNT - 5) / 97));
    expect(rows.every((row) => row.actor_id === 'u-5')).toBe(true);
  });
});
