import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { makeEvent } from '../../test/fixtures/events';
import { PinoAuditSink } from '../ecs/pino.sink';
import type { AuditEvent } from '../event/audit-event';
import { InMemoryAuditStore } from '../stores/memory/memory-audit.store';
import { AuditWriter } from './audit-writer';
import {
  AuditCommitError,
  type AuditLinePort,
  type AuditWriterSettings,
} from './audit-writer.contract';
import { AuditSpool } from './spool';

/** The real in-memory store, able to fail, or to hold commits until `release()`. */
class GatedStore extends InMemoryAuditStore {
  failing = false;
  readonly batches: string[][] = [];
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  override async append(events: readonly AuditEvent[]): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failing) throw new Error('store unavailable');
    await super.append(events);
    this.batches.push(events.map((e) => e.id));
  }
}

/** `event.action` of each line, with the event id (or the lost ids of a failure line). */
function summary(lines: readonly Record<string, unknown>[]): string[] {
  return lines.map((line) => {
    const event = line['event'] as { action: string; id?: string };
    const audit = line['audit'] as { pipeline_failure?: { events: { id: string }[] } };
    const lost = audit.pipeline_failure?.events.map((e) => e.id).join(',');
    return `${event.action}:${event.id ?? lost}`;
  });
}

/** A destination that keeps each line as it is written. */
class LineLog {
  readonly lines: Record<string, unknown>[] = [];

  write(line: string): boolean {
    this.lines.push(JSON.parse(line) as Record<string, unknown>);
    return true;
  }

  summary(): string[] {
    return summary(this.lines);
  }
}

/** A Node writable (1-byte high-water mark) whose writes complete only while it flows. */
class HeldWritable extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  private held: (() => void)[] = [];
  private flowing = true;

  constructor() {
    super({
      highWaterMark: 1,
      write: (chunk: Buffer, _encoding, done) => {
        this.lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        if (this.flowing) setImmediate(done);
        else this.held.push(done);
      },
    });
  }

  hold(): void {
    this.flowing = false;
  }

  flow(): void {
    this.flowing = true;
    const held = this.held;
    this.held = [];
    for (const done of held) done();
  }

  summary(): string[] {
    return summary(this.lines);
  }
}

/** Yields to the event loop until `condition` holds (a bounded number of turns, not a time). */
async function until(condition: () => boolean): Promise<void> {
  for (let turn = 0; !condition(); turn++) {
    if (turn > 10_000) throw new Error('the condition never held');
    await nextTurn();
  }
}

/** The port the pipeline gives the writer (as AuditStream does), over a real sink. */
function linesTo(destination: LineLog | Writable): { port: AuditLinePort; sink: PinoAuditSink } {
  const sink = new PinoAuditSink({ service: { name: 'spec' }, destination });
  const port: AuditLinePort = {
    writeEvents: (events) => sink.writeMany(events),
    writeFailure: (failure) => sink.writeFailure(failure),
    whenWritable: () => (sink.needsDrain ? sink.waitForDrain() : undefined),
  };
  return { port, sink };
}

const ack: AuditWriterSettings = {
  durability: 'ack',
  maxBatch: 5,
  flushIntervalMs: 5,
  maxQueue: 100,
  onQueueFull: 'block',
  retryIntervalMs: 60_000,
};
const async: AuditWriterSettings = { ...ack, durability: 'async' };

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await nextTurn();
}

describe("AuditWriter's ECS lines in 'ack' mode", () => {
  it('writes a batch of lines only once it is committed, and before its writers hear so', async () => {
    const store = new GatedStore();
    const out = new LineLog();
    const { port } = linesTo(out);
    const writer = new AuditWriter(store, ack, undefined, { lines: port });
    const events = Array.from({ length: 3 }, () => makeEvent());
    store.hold();

    const settled: string[] = [];
    const writes = events.map((e) =>
      writer.write(e).then(() => settled.push(`${e.id}@${out.lines.length}`)),
    );
    await turns(5);
    expect(out.lines).toHaveLength(0);
    store.release();
    await Promise.all(writes);

    expect(out.summary()).toEqual(events.map((e) => `user.update:${e.id}`));
    expect(settled).toEqual(events.map((e) => `${e.id}@3`));
    await writer.close();
  });

  it('writes no line for events it could not commit, but one failure line naming them', async () => {
    const store = new GatedStore();
    const out = new LineLog();
    const { port } = linesTo(out);
    const writer = new AuditWriter(store, ack, undefined, { lines: port });
    const kept = makeEvent();
    await writer.write(kept);
    store.failing = true;
    const lost = [makeEvent({ action: 'user.delete' }), makeEvent({ request: { id: 'req-9' } })];

    const results = await Promise.allSettled(lost.map((e) => writer.write(e)));

    expect(
      results.every((r) => r.status === 'rejected' && r.reason instanceof AuditCommitError),
    ).toBe(true);
    expect(out.summary()).toEqual([
      `user.update:${kept.id}`,
      `audit.pipeline_failure:${lost[0]!.id},${lost[1]!.id}`,
    ]);
    expect(out.lines[1]).toMatchObject({
      'log.level': 'error',
      event: { outcome: 'failure', reason: 'store_failure' },
      error: { type: 'Error', message: 'store unavailable' },
      audit: {
        pipeline_failure: {
          store: 'memory',
          count: 2,
          events: [
            { id: lost[0]!.id, action: 'user.delete' },
            { id: lost[1]!.id, action: 'user.update', request_id: 'req-9' },
          ],
        },
      },
    });
    expect(JSON.stringify(out.lines[1])).not.toContain('"actor"');
    await writer.close();
  });

  it('writes the lines of spooled events: they reach the store later', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-lines-'));
    try {
      const store = new GatedStore();
      store.failing = true;
      const out = new LineLog();
      const { port } = linesTo(out);
      const spool = new AuditSpool({ path: join(dir, 'spool'), maxBytes: 1024 * 1024 });
      const writer = new AuditWriter(store, ack, spool, { lines: port });
      await writer.start();
      const event = makeEvent();

      await expect(writer.write(event)).resolves.toBe('spooled');

      expect(out.summary()).toEqual([`user.update:${event.id}`]);
      await writer.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holds its writers and the next commit while the stream is full, and loses no line', async () => {
    const store = new GatedStore();
    const out = new HeldWritable();
    const { port, sink } = linesTo(out);
    const writer = new AuditWriter(store, ack, undefined, { lines: port });
    const events = Array.from({ length: 10 }, () => makeEvent());
    out.hold();

    const settled: number[] = [];
    const writes = events.map((e, i) => writer.write(e).then(() => settled.push(i)));
    await until(() => sink.needsDrain);
    await turns(10);
    // The first batch is committed and its lines are in the stream, which does not drain.
    expect(store.batches).toHaveLength(1);
    expect(settled).toEqual([]);
    out.flow();
    await Promise.all(writes);
    await writer.close();
    await until(() => out.writableLength === 0);

    expect(store.batches.map((b) => b.length)).toEqual([5, 5]);
    expect(settled).toEqual(events.map((_, i) => i));
    expect(out.summary()).toEqual(events.map((e) => `user.update:${e.id}`));
  });
});

describe("AuditWriter's ECS lines in 'async' mode", () => {
  it('writes the line when the event is queued, and a failure line for each dropped event', async () => {
    const store = new GatedStore();
    const out = new LineLog();
    const { port } = linesTo(out);
    const writer = new AuditWriter(
      store,
      { ...async, maxBatch: 2, maxQueue: 2, onQueueFull: 'drop' },
      undefined,
      { lines: port },
    );
    store.hold();
    const events = Array.from({ length: 5 }, () => makeEvent());

    const receipts = [];
    for (const e of events) receipts.push(await writer.write(e));

    expect(receipts).toEqual(['queued', 'queued', 'dropped', 'dropped', 'dropped']);
    expect(out.summary()).toEqual([
      `user.update:${events[0]!.id}`,
      `user.update:${events[1]!.id}`,
      ...events.slice(2).map((e) => `audit.pipeline_failure:${e.id}`),
    ]);
    expect(out.lines[2]).toMatchObject({ event: { reason: 'queue_full' } });
    store.release();
    await writer.close();
    expect(store.batches.flat()).toEqual([events[0]!.id, events[1]!.id]);
  });

  it('names queued events the store still refuses at shutdown in a failure line', async () => {
    const store = new GatedStore();
    store.failing = true;
    const out = new LineLog();
    const { port } = linesTo(out);
    const writer = new AuditWriter(store, async, undefined, { lines: port });
    const event = makeEvent();

    await writer.write(event);
    await writer.close();

    expect(out.summary()).toEqual([
      `user.update:${event.id}`,
      `audit.pipeline_failure:${event.id}`,
    ]);
    expect(out.lines[1]).toMatchObject({ event: { reason: 'shutdown' } });
  });

  it('makes writers wait while the stream is full instead of queueing more lines', async () => {
    const store = new GatedStore();
    const out = new HeldWritable();
    const { port } = linesTo(out);
    const writer = new AuditWriter(store, async, undefined, { lines: port });
    out.hold();
    const first = makeEvent();
    const second = makeEvent();

    await expect(writer.write(first)).resolves.toBe('queued');
    let secondQueued = false;
    const pending = writer.write(second).then((r) => {
      secondQueued = true;
      return r;
    });
    await turns(10);
    expect(secondQueued).toBe(false);
    // Not queued at all, so not in the store whatever the flush timer did meanwhile.
    expect(store.all().map((e) => e.id)).not.toContain(second.id);
    out.flow();

    await expect(pending).resolves.toBe('queued');
    await writer.close();
    await until(() => out.writableLength === 0);
    expect(out.summary()).toEqual([`user.update:${first.id}`, `user.update:${second.id}`]);
  });
});
