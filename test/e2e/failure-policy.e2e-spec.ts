import { Controller, Get, Module, NotFoundException, Param, Post } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { join } from 'node:path';
import { AuditModule, AuditService, type AuditModuleOptions } from '../../src';
import { AuditHealthIndicator } from '../../src/terminus';
import { PLATFORMS, startApp, tempDir, type Platform } from '../utils/apps';
import { FlakyStore } from '../utils/flaky-store';
import { until } from '../utils/until';

@Controller('accounts')
class AccountsController {
  @Post(':id')
  update(@Param('id') id: string): { id: string } {
    if (id === 'missing') throw new NotFoundException('no such account');
    return { id };
  }
}

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly audit: AuditHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.audit.check('audit')]);
  }
}

@Module({
  imports: [TerminusModule],
  controllers: [HealthController],
  providers: [AuditHealthIndicator],
})
class HealthModule {}

async function boot(platform: Platform, options: AuditModuleOptions) {
  const store = new FlakyStore();
  const running = await startApp(platform, {
    imports: [
      AuditModule.forRoot({ store, stream: false, exclude: ['/health'], ...options }),
      HealthModule,
    ],
    controllers: [AccountsController],
  });
  return { ...running, store, audit: running.app.get(AuditService) };
}

describe.each(PLATFORMS)('store failure policies on %s', (platform) => {
  it("'fail' (default): no 2xx without a committed record; 503 with a clear body, health down", async () => {
    const ctx = await boot(platform, {});
    try {
      await request(ctx.url).post('/accounts/a1').expect(201);
      ctx.store.down = true;
      const refused = await request(ctx.url).post('/accounts/a2').expect(503);
      expect(refused.body).toMatchObject({
        statusCode: 503,
        code: 'AUDIT_UNAVAILABLE',
        message: expect.stringMatching(/audit trail could not record/),
      });
      expect(refused.body.requestId).toBe(refused.headers['x-request-id']);
      // A request that failed anyway keeps its own status.
      await request(ctx.url).post('/accounts/missing').expect(404);
      expect(ctx.audit.health()).toMatchObject({
        status: 'down',
        condition: 'audit.pipeline_failure',
        lastError: expect.stringMatching(/connection refused/),
      });
      const health = await request(ctx.url).get('/health').expect(503);
      expect(health.body.error.audit).toMatchObject({ status: 'down', state: 'down' });
      ctx.store.down = false;
      await request(ctx.url).post('/accounts/a3').expect(201);
      expect(ctx.audit.health()).toMatchObject({ status: 'up' });
      expect((await request(ctx.url).get('/health').expect(200)).body.info.audit).toMatchObject({
        status: 'up',
      });
      expect(ctx.store.all().map((e) => e.target?.id)).toEqual(['a1', 'a3']);
    } finally {
      await ctx.close();
    }
  });

  it("'spool': requests proceed while the store is down and every record lands exactly once after", async () => {
    const tmp = tempDir();
    const ctx = await boot(platform, {
      onStoreFailure: { policy: 'spool', path: join(tmp.dir, 'audit.spool') },
      retryIntervalMs: 50,
    });
    try {
      ctx.store.down = true;
      const ids = Array.from({ length: 60 }, (_, i) => `s${i}`);
      const responses = await Promise.all(
        ids.map((id) => request(ctx.url).post(`/accounts/${id}`)),
      );
      expect(responses.every((r) => r.status === 201)).toBe(true);
      expect(ctx.store.all()).toHaveLength(0);
      const degraded = ctx.audit.health();
      expect(degraded).toMatchObject({
        status: 'degraded',
        condition: 'audit.pipeline_failure',
        spooled: 60,
      });
      expect(degraded.spool?.events).toBe(60);
      expect((await request(ctx.url).get('/health').expect(200)).body.info.audit).toMatchObject({
        state: 'degraded',
        spooledEvents: 60,
      });
      ctx.store.down = false;
      await until(() => ctx.store.all().length === 60);
      await until(() => ctx.audit.health().status === 'up');
      const stored = ctx.store
        .all()
        .map((e) => e.target?.id)
        .sort();
      expect(stored).toEqual([...ids].sort());
      expect(ctx.audit.health()).toMatchObject({ replayed: 60, spool: { events: 0 } });
    } finally {
      await ctx.close();
      tmp.cleanup();
    }
  });

  it("'spool' falls back to 'fail' once the spool is full", async () => {
    const tmp = tempDir();
    const ctx = await boot(platform, {
      onStoreFailure: { policy: 'spool', path: join(tmp.dir, 'audit.spool'), maxBytes: 64 * 1024 },
      retryIntervalMs: 10_000,
    });
    try {
      ctx.store.down = true;
      let status = 201;
      let accepted = 0;
      for (let i = 0; i < 500 && status === 201; i++) {
        status = (await request(ctx.url).post(`/accounts/f${i}`)).status;
        if (status === 201) accepted++;
      }
      expect(status).toBe(503);
      expect(accepted).toBeGreaterThan(10);
      expect(ctx.audit.health().spool?.events).toBe(accepted);
    } finally {
      await ctx.close();
      tmp.cleanup();
    }
  });

  it("'async': responses do not wait for a slow store, and shutdown flushes the queue", async () => {
    const ctx = await boot(platform, { durability: { mode: 'async', flushIntervalMs: 20 } });
    // The store commits nothing until released: every answer below came without it.
    const release = ctx.store.holdCommits();
    try {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => request(ctx.url).post(`/accounts/q${i}`).expect(201)),
      );
      expect(ctx.store.all()).toHaveLength(0);
    } finally {
      release();
    }
    await ctx.close();
    expect(ctx.store.all()).toHaveLength(20);
  });
});

describe("'async' durability without shutdown hooks", () => {
  it('warns at boot that a SIGTERM would lose queued events', async () => {
    const warnings: string[] = [];
    const logger = {
      log: () => undefined,
      error: () => undefined,
      warn: (message: unknown) => warnings.push(String(message)),
      debug: () => undefined,
      verbose: () => undefined,
    };
    const signalListeners = process.listeners('SIGTERM');
    process.removeAllListeners('SIGTERM');
    try {
      const moduleRef = await Test.createTestingModule({
        imports: [
          AuditModule.forRoot({ store: new FlakyStore(), stream: false, durability: 'async' }),
        ],
        controllers: [AccountsController],
      }).compile();
      const app = moduleRef.createNestApplication({ logger });
      await app.init();
      await app.close();
    } finally {
      for (const listener of signalListeners) process.on('SIGTERM', listener);
    }
    expect(warnings.some((w) => /durability 'async'.*app\.enableShutdownHooks\(\)/.test(w))).toBe(
      true,
    );
  });
});
