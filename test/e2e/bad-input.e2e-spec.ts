import { Body, Controller, Param, Put } from '@nestjs/common';
import request from 'supertest';
import { join } from 'node:path';
import { Audited, AuditModule, AuditService, AuditStore, InMemoryAuditStore, type AuditEvent } from '../../src';
import { LineCollector, PLATFORMS, startApp, tempDir } from '../utils/apps';

function hostileState(): Record<string, unknown> {
  const circular: Record<string, unknown> = { name: 'loop' };
  circular.self = circular;
  const throwing = {
    toJSON() {
      throw new Error('nope');
    },
  };
  return {
    circular,
    big: 2n ** 70n,
    when: new Date('2026-01-02T03:04:05.678Z'),
    invalidDate: new Date('garbage'),
    bytes: Buffer.from('binary-content'),
    map: new Map<unknown, unknown>([['a', 1], [2, 'b']]),
    set: new Set([1, 2, 3]),
    throwing,
    ['__proto__']: { polluted: true },
    control: 'line1\nline2\u0000\u0007\u001b[31mred\u202e',
    emoji: '👩‍💻 ünïcödé 漢字',
    fn: () => 1,
    sym: Symbol('s'),
    nan: Number.NaN,
  };
}

@Controller('hostile')
class HostileController {
  @Put(':id')
  @Audited('thing', { load: () => hostileState(), captureBody: true, captureResult: true })
  update(@Param('id') id: string, @Body() body: unknown): unknown {
    // The response itself must stay serialisable by Nest; hostile values come from the loader.
    return { id, body };
  }
}

class FailingStore extends InMemoryAuditStore {
  override append(): Promise<void> {
    return Promise.reject(new Error('disk on fire'));
  }
}

describe.each(PLATFORMS)('bad input on %s', (platform) => {
  it('records hostile values from loaders, bodies and results without breaking the request', async () => {
    const tmp = tempDir();
    const lines = new LineCollector();
    const running = await startApp(platform, {
      imports: [AuditModule.forRoot({ store: join(tmp.dir, 'audit.db'), stream: lines })],
      controllers: [HostileController],
    });
    try {
      // Fastify's JSON parser refuses __proto__ keys itself (400), so only Express gets one.
      const body: Record<string, unknown> = { text: 'tab\there\u0001', nested: { deep: [[[['x']]]] } };
      if (platform === 'express') Object.defineProperty(body, '__proto__', { value: { admin: true }, enumerable: true });
      await request(running.url)
        .put('/hostile/h1')
        .set('content-type', 'application/json')
        .send(JSON.stringify(body))
        .expect(200);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
      const event = (await running.app.get(AuditService).query({ resourceType: 'thing' })).items[0]!;
      const before = event.changes?.before as Record<string, unknown>;
      expect(before.big).toBe((2n ** 70n).toString());
      expect(before.when).toBe('2026-01-02T03:04:05.678Z');
      expect(before.invalidDate).toBeNull();
      expect(before.bytes).toMatchObject({ $audit: 'binary', bytes: 14 });
      expect(before.map).toEqual({ a: 1, '2': 'b' });
      expect(before.set).toEqual([1, 2, 3]);
      expect(before.throwing).toMatch(/^\[Unserializable: Error: nope\]$/);
      expect((before.circular as Record<string, unknown>).self).toBe('[Circular]');
      expect(before.emoji).toBe('👩‍💻 ünïcödé 漢字');
      expect(before.control).toBe('line1\nline2\ufffd\u0007\u001b[31mred\u202e');
      expect(Object.prototype.hasOwnProperty.call(before, '__proto__')).toBe(true);
      expect(event.body).toMatchObject({ text: 'tab\there\u0001' });
      // The stream line is one line of valid JSON even with control characters inside.
      expect(lines.lines).toHaveLength(1);
      expect(() => JSON.parse(lines.lines[0]!) as unknown).not.toThrow();
    } finally {
      await running.close();
      tmp.cleanup();
    }
  });

  it('replaces values over the cap by a marker with size and SHA-256, and keeps the event under its cap', async () => {
    const store = new InMemoryAuditStore();
    const running = await startApp(platform, {
      imports: [AuditModule.forRoot({ store, stream: false, maxValueBytes: 4096, maxEventBytes: 16384 })],
      controllers: [HostileController],
    });
    try {
      const big = 'x'.repeat(90_000);
      await request(running.url).put('/hostile/h2').send({ big }).expect(200);
      const event = store.all()[0] as AuditEvent;
      expect(event.body).toMatchObject({ $audit: 'truncated', bytes: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(16384);
    } finally {
      await running.close();
    }
  });

  it("answers 503 (policy 'fail') when the store is down, and writes a pipeline failure line instead of the event's", async () => {
    const lines = new LineCollector();
    const running = await startApp(platform, {
      imports: [AuditModule.forRoot({ store: new FailingStore(), stream: lines })],
      controllers: [HostileController],
    });
    try {
      await request(running.url).put('/hostile/h3').send({ a: 1 }).expect(503);
      // The event was not stored, so no line may claim it: the failure line names it instead.
      expect(lines.parsed().map((l) => (l['event'] as { action: string }).action)).toEqual([
        'audit.pipeline_failure',
      ]);
      const stats = running.app.get(AuditService).stats();
      expect(stats.failed).toBe(1);
      expect(stats.lastError).toBe('disk on fire');
      await expect(running.app.get(AuditService).record({ action: 'x.y' })).rejects.toThrow(/disk on fire/);
      expect(running.app.get(AuditStore)).toBeInstanceOf(FailingStore);
    } finally {
      await running.close();
    }
  });
});
