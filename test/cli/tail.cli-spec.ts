import type { AuditEvent } from '../../src/event/audit-event';
import type { AuditStore } from '../../src/stores/audit-store';
import { makeEvent } from '../fixtures/events';
import { collect, ids, LineReader, ndjson, runCli, spawnCli } from './cli-harness';
import { ENGINES, seedDatabase, type SeededDatabase } from './engines';

function followEvent(ts: number, id: string, actor = 'u-follow'): AuditEvent {
  return makeEvent({
    id,
    timestamp: new Date(ts).toISOString(),
    actor: { type: 'user', id: actor, authenticated: true },
  });
}

function idOf(line: string): string {
  return (JSON.parse(line) as AuditEvent).id;
}

describe.each(ENGINES)('nestjs-audit tail (%s)', (engine) => {
  const now = Date.now();
  // Recent, so that they are inside the follow window; one millisecond apart.
  const seeded = Array.from({ length: 5 }, (_, i) =>
    followEvent(now - 5_000 + i, `0190-seed-${i}`),
  );
  let db: SeededDatabase;
  let writer: AuditStore;

  beforeAll(async () => {
    db = await seedDatabase(engine, seeded);
    writer = await db.writer();
  });

  afterAll(async () => {
    await writer?.close();
    await db?.cleanup();
  });

  it('prints the latest N events, oldest first', async () => {
    const run = await runCli([...db.args, 'tail', '-n', '3', '--format', 'ndjson']);
    expect(run.code).toBe(0);
    expect(ids(ndjson(run.stdout))).toEqual(['0190-seed-2', '0190-seed-3', '0190-seed-4']);
    const text = await runCli([...db.args, 'tail', '-n', '2']);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+ACTOR\s+ACTION\s+TARGET\s+OUTCOME\s+CHANGED\s+ID$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/).pop())).toEqual([
      '0190-seed-3',
      '0190-seed-4',
    ]);
  });

  it('follows new commits in order, each once, including same-millisecond and late ones, until SIGINT', async () => {
    const child = spawnCli([
      ...db.args,
      'tail',
      '-f',
      '-n',
      '2',
      '--interval',
      '100ms',
      '--actor',
      'u-follow',
      '--format',
      'ndjson',
    ]);
    const done = collect(child);
    const out = new LineReader(child.stdout);
    try {
      expect((await out.take(2)).map(idOf)).toEqual(['0190-seed-3', '0190-seed-4']);
      const t = Date.now();
      await writer.append([followEvent(t, '0190-t-z')]);
      expect((await out.take(1)).map(idOf)).toEqual(['0190-t-z']);
      // Same millisecond, smaller id, committed after the first was shown.
      await writer.append([followEvent(t, '0190-t-a')]);
      expect((await out.take(1)).map(idOf)).toEqual(['0190-t-a']);
      // Committed late: older than what was shown already.
      await writer.append([followEvent(t - 2_000, '0190-late')]);
      expect((await out.take(1)).map(idOf)).toEqual(['0190-late']);
      // One commit of several events, out of order, and one the filter excludes.
      await writer.append([
        followEvent(t + 30, '0190-b-3'),
        followEvent(t + 10, '0190-b-1'),
        followEvent(t + 20, '0190-other', 'u-other'),
        followEvent(t + 20, '0190-b-2'),
      ]);
      expect((await out.take(3)).map(idOf)).toEqual(['0190-b-1', '0190-b-2', '0190-b-3']);
      // Several more polls: nothing is printed twice.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(out.pending()).toEqual([]);
    } finally {
      child.kill('SIGINT');
    }
    const run = await done;
    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
  });

  it('stops cleanly on SIGTERM', async () => {
    const child = spawnCli([...db.args, 'tail', '-f', '-n', '1', '--interval', '50ms']);
    const done = collect(child);
    const out = new LineReader(child.stdout);
    const [header, row] = await out.take(2);
    expect(header).toMatch(/^TIME\s+ACTOR/);
    expect(row).toContain('u-follow');
    child.kill('SIGTERM');
    const run = await done;
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
  });
});
