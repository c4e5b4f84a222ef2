import { Controller, Module, Post } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AuditModule, AuditStore, InMemoryAuditStore } from '../../src';
import { PLATFORMS, tempDir } from '../utils/apps';

@Controller('notes')
class NotesController {
  @Post()
  create(): { id: string } {
    return { id: 'n1' };
  }
}

const tmp = tempDir();
const productionDb = join(tmp.dir, 'audit.db');

/** An app as users write it: AuditModule.forRoot() with a SQLite file. */
@Module({ imports: [AuditModule.forRoot({ store: productionDb, stream: false })], controllers: [NotesController] })
class UserAppModule {}

afterAll(() => tmp.cleanup());

describe.each(PLATFORMS)('the README recipe for testing an app with InMemoryAuditStore (%s)', (platform) => {
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
});
