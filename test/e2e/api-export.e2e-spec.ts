import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { AuditService, type AuditEvent } from '../../src';
import { EXPORT_COLUMNS, exportCells } from '../../src/query/export-format';
import { makeEvent, makeEvents } from '../fixtures/events';
import { PLATFORMS, tempDir, type RunningApp } from '../utils/apps';
import {
  ADMIN_HEADERS,
  AdminHeaderGuard,
  auditApiApp,
  CapturingLogger,
  startApiApp,
} from '../utils/api-app';
import { rawGet } from '../utils/api-http';
import { CountingSqliteStore } from '../utils/api-store';
import { until } from '../utils/until';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parse } = require('csv-parse/sync') as {
  parse: (input: string, options: Record<string, unknown>) => Record<string, string>[];
};

/** Messages an attacker could plant, and the cell a spreadsheet must see for each. */
const TRICKY_CELLS: readonly (readonly [string, string])[] = [
  ['plain text', 'plain text'],
  ['comma, inside', 'comma, inside'],
  ['say "hi", then "bye"', 'say "hi", then "bye"'],
  ['line one\nline two\r\nline three', 'line one\nline two\r\nline three'],
  ['=HYPERLINK("http://evil.example","click")', '\'=HYPERLINK("http://evil.example","click")'],
  ['+1+2', "'+1+2"],
  ['-3', "'-3"],
  ['@SUM(A1:A2)', "'@SUM(A1:A2)"],
  ['\tleading tab', "'\tleading tab"],
  ['\rleading CR', "'\rleading CR"],
  // Behind spaces, in full-width signs, behind a pipe, after a separator of another locale.
  [" =cmd|' /C calc'!A0", "' =cmd|' /C calc'!A0"],
  ['\uff1dSUM(1)', "'\uff1dSUM(1)"],
  ['|cmd', "'|cmd"],
  ['x;=HYPERLINK("http://evil.example")', 'x;\'=HYPERLINK("http://evil.example")'],
  // A terminal escape sequence stays visible text.
  ['red \u001b[31malert\u001b[0m', 'red \\u001b[31malert\\u001b[0m'],
  ['ünïcödé ✓', 'ünïcödé ✓'],
  ['', ''],
];
const TRICKY = TRICKY_CELLS.map(([message]) => message);
const SAFE = new Map(TRICKY_CELLS);

/** What a spreadsheet must see in a cell: formulas neutralised, control characters as text. */
const neutralised = (value: string): string => SAFE.get(value) ?? value;

describe.each(PLATFORMS)('audit HTTP API exports on %s', (platform) => {
  let running: RunningApp;
  let audit: AuditService;
  let store: CountingSqliteStore;
  let logger: CapturingLogger;
  let tmp: ReturnType<typeof tempDir>;
  let seq = 0;

  const url = (path: string) => `${running.url}${path}`;
  const headers = () => {
    seq += 1;
    return { ...ADMIN_HEADERS, 'x-request-id': `${platform}-export-${seq}` };
  };
  const lastRead = async () => {
    const { items } = await audit.query({ requestId: `${platform}-export-${seq}` });
    return items;
  };
  /** Waits for the `audit.read` of the last call, recorded once its stream has ended. */
  const waitForRead = async (): Promise<AuditEvent> => {
    let items: AuditEvent[] = [];
    await until(async () => (items = await lastRead()).length > 0, 20);
    expect(items).toHaveLength(1);
    return items[0]!;
  };

  beforeAll(async () => {
    tmp = tempDir();
    store = new CountingSqliteStore({ path: join(tmp.dir, 'audit.db'), synchronous: 'NORMAL' });
    logger = new CapturingLogger();
    running = await startApiApp(
      platform,
      auditApiApp(
        { store, stream: false, trustRequestId: true, scope: 'all', serviceName: 'export-test' },
        { guard: AdminHeaderGuard, exportLimit: 30_000 },
      ),
      logger,
    );
    audit = running.app.get(AuditService);
    const base = Date.now() - 10 * 86_400_000;
    await store.append(
      TRICKY.map((text, i) =>
        makeEvent({
          timestamp: new Date(base + i).toISOString(),
          action: 'csv.test',
          message: text,
          actor: { type: 'user', id: `u,${i}`, name: text, authenticated: true },
          target: { type: 'doc', id: `"${i}"` },
        }),
      ),
    );
  });
  afterAll(async () => {
    await running.close();
    tmp.cleanup();
  });

  it('exports CSV that csv-parse reads back cell for cell, formulas neutralised', async () => {
    const res = await rawGet(url('/audit/export.csv?action=csv.test'), headers());
    expect(res.status).toBe(200);
    expect(res.complete).toBe(true);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="audit-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-length']).toBeUndefined();
    const records = parse(res.text, {
      columns: false,
      relax_column_count: false,
    }) as unknown as string[][];
    expect(records[0]).toEqual([...EXPORT_COLUMNS]);
    const rows = records.slice(1);
    expect(rows).toHaveLength(TRICKY.length);
    const stored = (await audit.query({ action: 'csv.test', limit: 100 })).items;
    // Same order as the API lists: newest first.
    expect(rows.map((r) => r[0])).toEqual(stored.map((e) => e.id));
    for (const [i, event] of stored.entries()) {
      expect(rows[i]).toEqual(exportCells(event).map(neutralised));
    }
    const messages = rows.map((r) => r[EXPORT_COLUMNS.indexOf('message')]);
    expect(messages).toEqual([...TRICKY].reverse().map(neutralised));
    expect(messages).toContain('\'=HYPERLINK("http://evil.example","click")');
    expect(messages).toContain('line one\nline two\r\nline three');
  });

  it('exports NDJSON: one valid JSON event per line, as stored', async () => {
    const res = await rawGet(url('/audit/export.ndjson?action=csv.test'), headers());
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="audit-\d{4}-\d{2}-\d{2}\.ndjson"$/,
    );
    expect(res.text.endsWith('\n')).toBe(true);
    const lines = res.text.slice(0, -1).split('\n');
    expect(lines).toHaveLength(TRICKY.length);
    const events = lines.map((line) => JSON.parse(line) as AuditEvent);
    expect(events).toEqual((await audit.query({ action: 'csv.test', limit: 100 })).items);
  });

  it('exports an empty result as a header-only CSV and an empty NDJSON', async () => {
    const csv = await rawGet(url('/audit/export.csv?action=nothing.here'), headers());
    expect(csv.text).toBe(`${EXPORT_COLUMNS.join(',')}\r\n`);
    const ndjson = await rawGet(url('/audit/export.ndjson?action=nothing.here'), headers());
    expect(ndjson.status).toBe(200);
    expect(ndjson.text).toBe('');
    expect(ndjson.complete).toBe(true);
  });

  it('records the export once, as audit.read with the filter, the format and the row count', async () => {
    await rawGet(url('/audit/export.csv?action=csv.test&since=30d'), headers());
    const read = await waitForRead();
    expect(read).toMatchObject({
      action: 'audit.read',
      outcome: 'success',
      actor: { id: 'auditor-1' },
      filter: { action: 'csv.test', from: expect.any(String) },
      results: { count: TRICKY.length },
      labels: { via: 'api', endpoint: 'export', format: 'csv' },
      request: { method: 'GET', path: '/audit/export.csv' },
    });
  });

  it.each([
    ['limit=10', /"limit" does not apply to an export/],
    ['cursor=abc', /"cursor" does not apply to an export/],
    ['outcome=maybe', /Invalid "outcome" filter/],
    ['format=xlsx', /Unknown filter "format"/],
  ])('answers 400 for %s, and records the refusal', async (query, message) => {
    const res = await rawGet(url(`/audit/export.ndjson?${query}`), headers());
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(res.text)).toEqual({
      statusCode: 400,
      message: expect.stringMatching(message),
      error: 'Bad Request',
    });
    expect(await lastRead()).toEqual([
      expect.objectContaining({
        action: 'audit.read',
        outcome: 'failure',
        labels: { via: 'api', endpoint: 'export', format: 'ndjson' },
      }),
    ]);
  });

  describe('with 20,000 events', () => {
    const BULK = 20_000;
    beforeAll(async () => {
      const base = Date.now() - 5 * 86_400_000;
      const padding = 'x'.repeat(1000);
      for (let batch = 0; batch < BULK / 1000; batch++) {
        await store.append(
          makeEvents(1000, (i) => ({
            timestamp: new Date(base + batch * 1000 + i).toISOString(),
            action: 'bulk.write',
            message: `event ${batch * 1000 + i} ${padding}`,
            target: { type: 'bulk', id: String(batch * 1000 + i) },
          })),
        );
      }
    });

    it('streams page by page with backpressure: a paused client stops the reads', async () => {
      const before = store.eventsRead;
      let readWhilePaused = -1;
      let heapPeak = process.memoryUsage().heapUsed;
      const heapStart = heapPeak;
      const sampler = setInterval(() => {
        heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      }, 5);
      const res = await rawGet(url('/audit/export.csv?action=bulk.write'), headers(), {
        afterFirstChunk: async () => {
          // Wait until the reads settle (socket buffers full): the stream then waits for the
          // client instead of reading on. A busy machine only makes this take longer.
          // Settled means 300 ms without a read; the checks below hold whenever that is seen.
          do {
            readWhilePaused = store.eventsRead - before;
            await sleep(300);
          } while (readWhilePaused !== store.eventsRead - before);
        },
      });
      clearInterval(sampler);
      expect(res.status).toBe(200);
      expect(res.complete).toBe(true);
      expect(res.headers['transfer-encoding']).toBe('chunked');
      // 20 pages of 1000 in all; far fewer were read while the client was paused.
      expect(readWhilePaused).toBeGreaterThan(0);
      expect(readWhilePaused).toBeLessThanOrEqual(8 * 1000);
      // Every event read once: the pages follow each other without overlap or gap.
      expect(store.eventsRead - before).toBe(BULK);
      expect(res.chunks.length).toBeGreaterThan(20);
      const rows = parse(res.text, { columns: true });
      expect(rows).toHaveLength(BULK);
      expect(new Set(rows.map((r) => r.id)).size).toBe(BULK);
      const read = await waitForRead();
      expect(read.results).toEqual({ count: BULK });
      // A sanity bound on the whole process (client included); that the server does not read
      // ahead of the client is proven by the paused reads above.
      const growthMb = (heapPeak - heapStart) / 1024 / 1024;
      expect(growthMb).toBeLessThan(120);
    });

    it('aborts the response (never a clean end) when the store fails in the middle, and logs it', async () => {
      // Fails inside the second page of 1000, after the response started.
      store.failAfterEvents = store.eventsRead + 1500;
      let res;
      try {
        res = await rawGet(url('/audit/export.ndjson?action=bulk.write'), headers());
      } finally {
        store.failAfterEvents = undefined;
      }
      expect(res.status).toBe(200);
      expect(res.complete).toBe(false);
      const lines = res.text.split('\n').filter((l) => l !== '');
      expect(lines.length).toBeGreaterThanOrEqual(1000);
      expect(lines.length).toBeLessThan(1500);
      // The record and the log count exactly the events that were sent.
      const read = await waitForRead();
      expect(read).toMatchObject({
        outcome: 'failure',
        results: { count: lines.length },
        error: { message: expect.stringMatching(/disk I\/O error/) },
      });
      const failed = new RegExp(
        `audit export .* failed after ${lines.length} events and was aborted: SQLITE_IOERR`,
      );
      expect(logger.messages('error').some((m) => failed.test(m))).toBe(true);
    });

    it('stops reading when the client goes away, and records the partial export', async () => {
      const before = store.eventsRead;
      await rawGet(url('/audit/export.csv?action=bulk.write'), headers(), {
        abortAfterBytes: 10_000,
      });
      const read = await waitForRead();
      expect(read.outcome).toBe('failure');
      expect(read.error?.message).toMatch(/client closed the connection after \d+ events/);
      expect((read.results as { count: number }).count).toBeLessThan(BULK);
      // Recorded as the export's stream ends, after its last read: none can come later. (The
      // read record's own lookup adds its one event.)
      const eventsRead = store.eventsRead - before - 1;
      expect(eventsRead).toBeGreaterThan(0);
      expect(eventsRead).toBeLessThan(BULK);
    });

    it('refuses with 400 an export known from its first page to exceed exportLimit', async () => {
      const small = await startApiApp(
        platform,
        // A second connection to the same file: each app closes its store on shutdown.
        auditApiApp(
          { store: join(tmp.dir, 'audit.db'), stream: false, trustRequestId: true },
          { guard: AdminHeaderGuard, exportLimit: 500 },
        ),
      );
      try {
        const res = await rawGet(`${small.url}/audit/export.csv?action=bulk.write`, headers());
        expect(res.status).toBe(400);
        expect(JSON.parse(res.text).message).toMatch(/more than 500 events.*api\.exportLimit/);
        const fits = await rawGet(`${small.url}/audit/export.csv?action=csv.test`, headers());
        expect(fits.status).toBe(200);
      } finally {
        await small.close();
      }
    });

    it('aborts an export that passes exportLimit after its first page', async () => {
      const capped = await startApiApp(
        platform,
        auditApiApp(
          { store: join(tmp.dir, 'audit.db'), stream: false, trustRequestId: true },
          { guard: AdminHeaderGuard, exportLimit: 2500 },
        ),
        logger,
      );
      try {
        const res = await rawGet(`${capped.url}/audit/export.ndjson?action=bulk.write`, headers());
        expect(res.status).toBe(200);
        expect(res.complete).toBe(false);
        const read = await waitForRead();
        expect(read.outcome).toBe('failure');
        // Whole pages up to the limit, never an event past it; the client got at most those.
        const sent = (read.results as { count: number }).count;
        expect(sent).toBeGreaterThanOrEqual(2000);
        expect(sent).toBeLessThanOrEqual(2500);
        expect(res.text.split('\n').filter((l) => l !== '').length).toBeLessThanOrEqual(sent);
        const aborted = new RegExp(
          `aborted after ${sent} events: the export matches more than 2500 events`,
        );
        expect(logger.messages('warn').some((m) => aborted.test(m))).toBe(true);
      } finally {
        await capped.close();
      }
    });
  });
});
