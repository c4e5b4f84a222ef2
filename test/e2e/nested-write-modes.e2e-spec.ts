import { Controller, Param, Post, type INestApplication, type LoggerService } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AuditModule, AuditService, type AuditModuleOptions } from '../../src';
import { PLATFORMS, tempDir, type Platform } from '../utils/apps';
import { FlakyStore } from '../utils/flaky-store';
import { until } from '../utils/until';

@Controller('accounts')
class AccountsController {
  @Post(':id')
  update(@Param('id') id: string): { id: string } {
    return { id };
  }
}

/** A logger keeping the warnings, set before the module is compiled (when options resolve). */
function warningLogger(): { logger: LoggerService; warnings: string[] } {
  const warnings: string[] = [];
  const ignore = () => undefined;
  const logger: LoggerService = {
    log: ignore,
    error: ignore,
    warn: (message: unknown) => warnings.push(String(message)),
    debug: ignore,
    verbose: ignore,
  };
  return { logger, warnings };
}

/** A real app on `platform` with the audit `options`, its store able to go down. */
async function boot(platform: Platform, options: AuditModuleOptions) {
  const store = new FlakyStore();
  const { logger, warnings } = warningLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [AuditModule.forRoot({ store, stream: false, ...options })],
    controllers: [AccountsController],
  })
    .setLogger(logger)
    .compile();
  const app: INestApplication =
    platform === 'fastify'
      ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger })
      : moduleRef.createNestApplication({ logger });
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  return { app, url, store, warnings, audit: app.get(AuditService) };
}

const deprecations = (warnings: readonly string[]) => warnings.filter((w) => /deprecated/.test(w));

describe.each(PLATFORMS)('nested durability and onStoreFailure on %s', (platform) => {
  it("onStoreFailure: { policy: 'spool', path }: spools to that path while the store is down, then replays", async () => {
    const tmp = tempDir();
    const path = join(tmp.dir, 'nested.spool');
    const ctx = await boot(platform, {
      onStoreFailure: { policy: 'spool', path, maxBytes: 1024 * 1024 },
      retryIntervalMs: 50,
    });
    try {
      ctx.store.down = true;
      for (const id of ['n1', 'n2', 'n3']) {
        await request(ctx.url).post(`/accounts/${id}`).expect(201);
      }
      expect(ctx.audit.health()).toMatchObject({
        status: 'degraded',
        onStoreFailure: 'spool',
        spool: { path, events: 3 },
      });
      expect(existsSync(path)).toBe(true);
      ctx.store.down = false;
      await until(() => ctx.store.all().length === 3);
      expect(ctx.store.all().map((e) => e.target?.id)).toEqual(['n1', 'n2', 'n3']);
      expect(deprecations(ctx.warnings)).toEqual([]);
    } finally {
      await ctx.app.close();
      tmp.cleanup();
    }
  });

  it("durability: { mode: 'async', maxQueue, onQueueFull: 'drop' }: a bounded queue the responses do not wait for", async () => {
    const ctx = await boot(platform, {
      durability: { mode: 'async', flushIntervalMs: 10, maxQueue: 2, onQueueFull: 'drop' },
      maxBatch: 2,
    });
    // Nothing commits until released: the queue (the batch being committed counted) holds two.
    const release = ctx.store.holdCommits();
    try {
      for (let i = 0; i < 10; i++) await request(ctx.url).post(`/accounts/q${i}`).expect(201);
      // At most two events are in memory while nothing commits: the other eight are dropped.
      await until(() => ctx.audit.health().dropped === 8);
      expect(ctx.audit.health()).toMatchObject({ durability: 'async', maxQueue: 2, dropped: 8 });
    } finally {
      release();
    }
    await ctx.app.close();
    expect(ctx.store.all()).toHaveLength(2);
    expect(deprecations(ctx.warnings)).toEqual([]);
  });

  it('still takes the deprecated flat options, with one warning each naming the nested form', async () => {
    const tmp = tempDir();
    const spoolPath = join(tmp.dir, 'flat.spool');
    const ctx = await boot(platform, {
      durability: 'async',
      flushIntervalMs: 10,
      maxQueue: 500,
      onQueueFull: 'block',
      onStoreFailure: 'spool',
      spoolPath,
      spoolMaxBytes: 1024 * 1024,
      retryIntervalMs: 50,
    });
    try {
      expect(deprecations(ctx.warnings)).toEqual([
        expect.stringContaining(`"flushIntervalMs" is deprecated`),
        expect.stringContaining(`"maxQueue" is deprecated`),
        expect.stringContaining(`"onQueueFull" is deprecated`),
        expect.stringContaining(`"spoolPath" is deprecated`),
        expect.stringContaining(`"spoolMaxBytes" is deprecated`),
      ]);
      expect(ctx.warnings).toContain(
        `nestjs-audit: option "maxQueue" is deprecated and will be removed in the next minor version. Write it inside durability instead: durability: { mode: 'async', maxQueue: 500 }.`,
      );
      expect(ctx.warnings).toContain(
        `nestjs-audit: option "spoolPath" is deprecated and will be removed in the next minor version. Write it inside onStoreFailure instead: onStoreFailure: { policy: 'spool', path: '${spoolPath}' }.`,
      );
      ctx.store.down = true;
      await request(ctx.url).post('/accounts/f1').expect(201);
      await until(() => ctx.audit.health().spool?.events === 1);
      expect(ctx.audit.health()).toMatchObject({ maxQueue: 500, spool: { path: spoolPath } });
      expect(existsSync(spoolPath)).toBe(true);
      ctx.store.down = false;
      await until(() => ctx.store.all().length === 1);
    } finally {
      await ctx.app.close();
      tmp.cleanup();
    }
  });
});
