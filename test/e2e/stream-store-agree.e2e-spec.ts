import { Body, Controller, Param, Post } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditModule, Audited, InMemoryAuditStore, type AuditEvent } from '../../src';
import { LineCollector, PLATFORMS, startApp, tempDir } from '../utils/apps';
import { FlakyStore } from '../utils/flaky-store';

@Controller('notes')
class NotesController {
  @Post(':id')
  @Audited('note', { captureBody: true })
  save(@Param('id') id: string, @Body() _body: unknown): { id: string } {
    return { id };
  }
}

@Controller('accounts')
class AccountsController {
  @Post(':id')
  update(@Param('id') id: string): { id: string } {
    return { id };
  }
}

/** The flaky store, able to hold every commit until `release()`: a store that fell behind. */
class HeldStore extends FlakyStore {
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
    await super.append(events);
  }
}

interface StreamLine {
  event: { action: string; outcome: string; reason?: string };
  http?: { request?: { id?: string }; response?: { status_code: number } };
  audit: {
    target?: { id?: string };
    pipeline_failure?: { events: { id: string; request_id?: string }[] };
  };
}

const FAILURE = 'audit.pipeline_failure';

/** The event lines and the failure lines of a collector. */
function split(lines: LineCollector): { events: StreamLine[]; failures: StreamLine[] } {
  const all = lines.parsed() as unknown as StreamLine[];
  return {
    events: all.filter((l) => l.event.action !== FAILURE),
    failures: all.filter((l) => l.event.action === FAILURE),
  };
}

/** Request ids the failure lines name. */
function lostRequestIds(failures: readonly StreamLine[]): string[] {
  return failures
    .flatMap((l) => l.audit.pipeline_failure?.events.map((e) => e.request_id) ?? [])
    .filter((id): id is string => id !== undefined);
}

describe.each(PLATFORMS)('stream and store agree on %s', (platform) => {
  it("'fail': the request answered 503 leaves no line of its own, and a pipeline failure line", async () => {
    const store = new FlakyStore();
    const lines = new LineCollector();
    const running = await startApp(platform, {
      imports: [AuditModule.forRoot({ store, stream: lines, serviceName: 'agree' })],
      controllers: [AccountsController],
    });
    let refusedId: string;
    try {
      await request(running.url).post('/accounts/a1').expect(201);
      store.down = true;
      const refused = await request(running.url).post('/accounts/a2').expect(503);
      refusedId = String(refused.headers['x-request-id']);
      store.down = false;
      await request(running.url).post('/accounts/a3').expect(201);
    } finally {
      await running.close();
    }

    const { events, failures } = split(lines);
    expect(events.map((l) => `${l.audit.target?.id}:${l.event.outcome}`)).toEqual([
      'a1:success',
      'a3:success',
    ]);
    expect(events.some((l) => l.http?.request?.id === refusedId)).toBe(false);
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures[0]).toMatchObject({
      'log.level': 'error',
      event: { outcome: 'failure', reason: 'store_failure' },
    });
    expect(lostRequestIds(failures)).toContain(refusedId);
    expect(store.all().map((e) => e.target?.id)).toEqual(['a1', 'a3']);
  });

  it("'async' + 'drop': a dropped event leaves no line of its own, and a failure line names it", async () => {
    const store = new HeldStore();
    const lines = new LineCollector();
    const running = await startApp(platform, {
      imports: [
        AuditModule.forRoot({
          store,
          stream: lines,
          durability: { mode: 'async', onQueueFull: 'drop', maxQueue: 2, flushIntervalMs: 1 },
          maxBatch: 1,
        }),
      ],
      controllers: [AccountsController],
    });
    const requestIds: string[] = [];
    try {
      store.hold();
      // While the store holds its first commit, the queue (which counts it) takes two events.
      for (let i = 0; i < 6; i++) {
        const response = await request(running.url).post(`/accounts/d${i}`).expect(201);
        requestIds.push(String(response.headers['x-request-id']));
      }
      store.release();
    } finally {
      await running.close();
    }

    const { events, failures } = split(lines);
    const stored = store.all();
    expect(stored).toHaveLength(2);
    expect(events.map((l) => l.http?.request?.id)).toEqual(stored.map((e) => e.request?.id));
    expect(failures).toHaveLength(4);
    expect(failures.every((l) => l.event.reason === 'queue_full')).toBe(true);
    const lost = lostRequestIds(failures);
    expect([...lost, ...stored.map((e) => e.request?.id)].sort()).toEqual([...requestIds].sort());
  });
});

describe('a file stream under load', () => {
  it('keeps the line of every one of 10,000 audited requests sent as fast as inject() can', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'audit.ndjson');
    const store = new InMemoryAuditStore();
    const moduleRef = await Test.createTestingModule({
      imports: [AuditModule.forRoot({ store, stream: file, serviceName: 'load' })],
      controllers: [NotesController],
    }).compile();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
      logger: false,
    });
    try {
      await app.init();
      const fastify = app.getHttpAdapter().getInstance();
      await fastify.ready();
      // ~2 KB of body per event: 10,000 lines are well past the default 16 MiB buffer.
      const payload = { text: 'x'.repeat(2048) };
      const total = 10_000;
      const chunk = 1_000;
      for (let start = 0; start < total; start += chunk) {
        const responses = await Promise.all(
          Array.from({ length: chunk }, (_, i) =>
            fastify.inject({ method: 'POST', url: `/notes/n${start + i}`, payload }),
          ),
        );
        expect(responses.filter((r) => r.statusCode !== 201).length).toBe(0);
      }
      // close() flushes the queue and the file: every line is on disk after it.
      await app.close();
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      // Counts, not arrays: a failure must not print megabytes of lines.
      expect(lines.length).toBe(total);
      const lineIds = lines.map((l) => (JSON.parse(l) as { event: { id: string } }).event.id);
      const storedIds = new Set(store.all().map((e) => e.id));
      expect(storedIds.size).toBe(total);
      // The file and the store hold the same events (each line once).
      expect(new Set(lineIds).size).toBe(total);
      expect(lineIds.filter((id) => !storedIds.has(id)).length).toBe(0);
    } finally {
      await app.close(); // a no-op when the test got there
      tmp.cleanup();
    }
  }, 120_000);
});
