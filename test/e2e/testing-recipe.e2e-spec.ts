import { Controller, Module, Post } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AuditModule, AuditService, AuditStore, InMemoryAuditStore } from '../../src';
import { PLATFORMS, tempDir } from '../utils/apps';

@Controller('notes')
class NotesController {
  @Post()
  create(): { id: string } {
    return { id: 'n1' };
  }
}

/** A controller as users unit-test it: it records through AuditService itself. */
@Controller('reports')
class ReportsController {
  constructor(private readonly audit: AuditService) {}

  @Post('daily')
  async exportDaily(): Promise<{ rows: number }> {
    await this.audit.record({ action: 'report.export', target: { type: 'report', id: 'daily' } });
    return { rows: 3 };
  }
}

const tmp = tempDir();
const productionDb = join(tmp.dir, 'audit.db');

/** An app as users write it: AuditModule.forRoot() with a SQLite file. */
@Module({
  imports: [AuditModule.forRoot({ store: productionDb, stream: false })],
  controllers: [NotesController],
})
class UserAppModule {}

afterAll(() => tmp.cleanup());

describe.each(PLATFORMS)(
  'the README recipe for testing an app with InMemoryAuditStore (%s)',
  (platform) => {
    it('replaces the store of the app with overrideProvider(AuditStore)', async () => {
      const store = new InMemoryAuditStore();
      const moduleRef = await Test.createTestingModule({ imports: [UserAppModule] })
        .overrideProvider(AuditStore)
        .useValue(store)
        .compile();
      const app =
        platform === 'fastify'
          ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
          : moduleRef.createNestApplication({ logger: false });
      await app.listen(0, '127.0.0.1');
      try {
        await request(app.getHttpServer()).post('/notes').expect(201);
        expect(store.all().map((e) => e.action)).toEqual(['note.create']);
      } finally {
        await app.close();
      }
      expect(existsSync(productionDb)).toBe(false);
    });
  },
);

describe('the README recipe for testing a controller on its own', () => {
  it('is needed: without AuditModule, Nest cannot resolve the AuditService the controller injects', async () => {
    await expect(
      Test.createTestingModule({ controllers: [ReportsController] }).compile(),
    ).rejects.toThrow(/can't resolve dependencies of the ReportsController.*AuditService/s);
  });

  it('works: AuditModule.forRoot with an InMemoryAuditStore and no stream records a direct call', async () => {
    const stdout = jest.spyOn(process.stdout, 'write');
    try {
      const moduleRef = await Test.createTestingModule({
        imports: [AuditModule.forRoot({ store: new InMemoryAuditStore(), stream: false })],
        controllers: [ReportsController],
      }).compile();

      await moduleRef.get(ReportsController).exportDaily();

      const { items } = await moduleRef.get(AuditService).query({ action: 'report.export' });
      expect(items).toHaveLength(1);
      expect(items[0]?.target).toEqual({ type: 'report', id: 'daily' });
      await moduleRef.close();
      // stream: false keeps the ECS lines out of the test output.
      expect(stdout.mock.calls.join('')).not.toContain('ecs.version');
    } finally {
      stdout.mockRestore();
    }
  });
});
