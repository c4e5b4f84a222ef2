import { makeEvent } from '../fixtures/events';
import { runCli } from './cli-harness';
import { cliDataset, type CliDataset } from './cli-dataset';
import { ENGINES, seedDatabase, type SeededDatabase } from './engines';

interface StatsDoc {
  from: string | null;
  to: string | null;
  total: number;
  byOutcome: { outcome: string; count: number }[];
  byAction: { action: string; count: number }[];
  byActor: { actor: string; count: number }[];
}

describe.each(ENGINES)('nestjs-audit stats (%s)', (engine) => {
  const now = Date.now();
  const data: CliDataset = cliDataset(now);
  const anonymous = makeEvent({
    timestamp: new Date(now - 60_000).toISOString(),
    action: 'session.login',
    outcome: 'failure',
    actor: { type: 'anonymous', authenticated: false },
  });
  let db: SeededDatabase;

  beforeAll(async () => {
    db = await seedDatabase(engine, [...data.all, anonymous]);
  });

  afterAll(async () => {
    await db?.cleanup();
  });

  const stats = async (...args: string[]): Promise<StatsDoc> => {
    const run = await runCli([...db.args, 'stats', '--format', 'json', ...args]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    return JSON.parse(run.stdout) as StatsDoc;
  };

  it('counts the last 24 hours by default', async () => {
    const doc = await stats();
    expect(doc.total).toBe(2);
    expect(Date.parse(doc.from as string)).toBeGreaterThan(now - 24 * 3_600_000 - 60_000);
    expect(doc.to).toBeNull();
    expect(doc.byOutcome).toEqual([
      { outcome: 'failure', count: 1 },
      { outcome: 'success', count: 1 },
    ]);
    expect(doc.byActor).toEqual([
      { actor: '(anonymous)', count: 1 },
      { actor: 'u-3', count: 1 },
    ]);
  });

  it('counts a --from/--to period by action, actor and outcome, largest first', async () => {
    const doc = await stats('--from', '2026-01-01', '--to', '2026-03-04');
    expect(doc).toEqual({
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-03-04T00:00:00.000Z',
      total: 3,
      byOutcome: [
        { outcome: 'success', count: 2 },
        { outcome: 'failure', count: 1 },
      ],
      byAction: [
        { action: 'order.create', count: 1 },
        { action: 'user.create', count: 1 },
        { action: 'user.update', count: 1 },
      ],
      byActor: [
        { actor: 'u-1', count: 2 },
        { actor: 'u-2', count: 1 },
      ],
    });
  });

  it('applies the other filters and --since', async () => {
    const doc = await stats('--since', '1000d', '--resource', 'user:42', '--action', 'user.update');
    expect(doc.total).toBe(3);
    expect(doc.byActor).toEqual([
      { actor: 'u-3', count: 2 },
      { actor: 'u-2', count: 1 },
    ]);
  });

  it('prints tables with counts and shares, cut to --top', async () => {
    const run = await runCli([...db.args, 'stats', '--since', '1000d', '--top', '2']);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^7 events from \S+ to now$/);
    expect(lines).toContainEqual(expect.stringMatching(/^OUTCOME\s+EVENTS\s+SHARE$/));
    expect(lines).toContainEqual(expect.stringMatching(/^success\s+4\s+57\.1%$/));
    expect(lines).toContainEqual(expect.stringMatching(/^user\.update\s+3\s+42\.9%$/));
    expect(lines).toContainEqual(expect.stringMatching(/^u-1\s+2\s+28\.6%$/));
    expect(lines).toContain('… and 1 more outcome (--top 0 shows all)');
    expect(lines).toContain('… and 3 more actors (--top 0 shows all)');
  });
});
