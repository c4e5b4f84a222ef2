import { parse } from 'csv-parse/sync';
import type { AuditEvent } from '../../src/event/audit-event';
import { EXPORT_COLUMNS } from '../../src/query/export-format';
import { ids, ndjson, runCli } from './cli-harness';
import { cliDataset, type CliDataset } from './cli-dataset';
import { ENGINES, seedDatabase, type SeededDatabase } from './engines';

function newestFirst(events: readonly AuditEvent[]): string[] {
  return [...events]
    .sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp) || (a.id < b.id ? 1 : -1))
    .map((event) => event.id);
}

describe.each(ENGINES)('nestjs-audit query (%s)', (engine) => {
  const data: CliDataset = cliDataset(Date.now());
  let db: SeededDatabase;

  beforeAll(async () => {
    db = await seedDatabase(engine, data.all);
  });

  afterAll(async () => {
    await db?.cleanup();
  });

  const query = (...args: string[]) => runCli([...db.args, 'query', ...args]);

  it.each<[string, string[], (d: CliDataset) => AuditEvent[]]>([
    ['no filter', [], (d) => d.all],
    ['--actor', ['--actor', 'u-1'], (d) => [d.created, d.orderFailed]],
    [
      '--resource type:id',
      ['--resource', 'user:42'],
      (d) => [d.created, d.phoneChanged, d.recent, d.yesterday],
    ],
    ['--resource type', ['--resource', 'order'], (d) => [d.orderFailed]],
    ['--action', ['--action', 'user.update'], (d) => [d.phoneChanged, d.recent, d.yesterday]],
    ['--outcome', ['--outcome', 'failure'], (d) => [d.orderFailed]],
    ['--request-id', ['--request-id', 'req-2'], (d) => [d.phoneChanged]],
    ['--tenant', ['--tenant', 'globex'], (d) => [d.orderFailed]],
    ['--since', ['--since', '24h'], (d) => [d.recent]],
    ['--since (longer)', ['--since', '2d'], (d) => [d.recent, d.yesterday]],
    [
      '--from/--to',
      ['--from', '2026-03-02', '--to', '2026-03-04'],
      (d) => [d.phoneChanged, d.orderFailed],
    ],
    [
      'several filters together',
      ['--actor', 'u-1', '--tenant', 'acme', '--resource', 'user:42'],
      (d) => [d.created],
    ],
    ['a filter nothing matches', ['--actor', 'nobody'], () => []],
  ])('filters with %s', async (_label, args, expected) => {
    const run = await query(...args, '--format', 'ndjson');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(ids(ndjson(run.stdout))).toEqual(newestFirst(expected(data)));
  });

  it('reads --from/--to without a zone as UTC, also where the machine runs on another time zone', async () => {
    const run = await runCli(
      [
        ...db.args,
        'query',
        '--from',
        '2026-03-02T09:30',
        '--to',
        '2026-03-02T10:30',
        '--format',
        'ndjson',
      ],
      { env: { TZ: 'America/New_York' } },
    );
    expect(run.code).toBe(0);
    // In New York time the same words would mean 14:30-15:30 UTC, and match nothing.
    expect(ids(ndjson(run.stdout))).toEqual([data.phoneChanged.id]);
  });

  it('pages with --limit and the --cursor it prints on stderr, without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursorArgs: string[] = [];
    for (let pages = 0; pages < 10; pages += 1) {
      const run = await query('--limit', '4', '--format', 'ndjson', ...cursorArgs);
      expect(run.code).toBe(0);
      seen.push(...ids(ndjson(run.stdout)));
      const hint = /--cursor (\S+)/.exec(run.stderr);
      if (hint === null) break;
      cursorArgs = ['--cursor', hint[1] as string];
    }
    expect(seen).toEqual(newestFirst(data.all));
  });

  it('prints one JSON document {items, nextCursor} with --format json', async () => {
    const run = await query('--limit', '2', '--format', 'json');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const doc = JSON.parse(run.stdout) as { items: AuditEvent[]; nextCursor?: string };
    // As stored, each with its number in the chain the database keeps.
    expect(doc.items).toEqual(
      [data.recent, data.yesterday].map((event) => ({ ...event, sequence: expect.any(Number) })),
    );
    expect(typeof doc.nextCursor).toBe('string');
    const last = JSON.parse((await query('--format', 'json')).stdout) as Record<string, unknown>;
    expect(Object.keys(last)).toEqual(['items']);
  });

  it('prints CSV with the export header, one record per event, formulas neutralised', async () => {
    const run = await query('--format', 'csv', '--resource', 'user');
    expect(run.code).toBe(0);
    const rows = parse<Record<string, string>>(run.stdout, { columns: true });
    expect(Object.keys(rows[0] ?? {})).toEqual([...EXPORT_COLUMNS]);
    expect(rows.map((row) => row.id)).toEqual(
      newestFirst([data.created, data.phoneChanged, data.deleted, data.recent, data.yesterday]),
    );
    const deleted = rows.find((row) => row.id === data.deleted.id);
    expect(deleted).toMatchObject({
      action: 'user.delete',
      outcome: 'unknown',
      actor_id: 'billing-job',
      actor_name: `'=HYPERLINK("http://x")`,
      actor_type: 'service',
      target_type: 'user',
      target_id: '43',
      tenant: 'acme',
    });
    const changed = rows.find((row) => row.id === data.phoneChanged.id);
    expect(changed?.changed_fields).toBe('mfa.enabled nickname phone');
  });

  it('prints a table with the time, actor, action, target, outcome and changed fields', async () => {
    const run = await query('--resource', 'user:42', '--since', '1000d');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+ACTOR\s+ACTION\s+TARGET\s+OUTCOME\s+CHANGED\s+ID$/);
    expect(lines).toHaveLength(5);
    const created = lines.find((line) => line.includes(data.created.id)) as string;
    for (const cell of [
      '2026-03-01T10:00:00Z',
      'Ada (u-1)',
      'user.create',
      'user:42',
      'success',
      'name, phone',
    ]) {
      expect(created).toContain(cell);
    }
    expect(lines.find((line) => line.includes(data.phoneChanged.id))).toContain(
      'mfa.enabled, nickname, phone',
    );
    // Columns line up: every id starts where the ID header does.
    const idColumn = (lines[0] as string).indexOf('ID');
    for (const line of lines.slice(1)) expect(line.indexOf('0')).toBeLessThanOrEqual(idColumn);
    for (const line of lines.slice(1)) expect(line.slice(idColumn)).toMatch(/^[0-9a-f-]{36}$/);
    // Piped: no colour codes.
    expect(run.stdout).not.toContain('\u001b[');
  });

  it('says on stderr when nothing matches, keeping stdout empty', async () => {
    const run = await query('--actor', 'nobody');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('No events match these filters.\n');
  });
});
