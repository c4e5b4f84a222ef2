import Database from 'better-sqlite3';
import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import request from 'supertest';
import { join } from 'node:path';
import { AuditModule, AuditService, InMemoryAuditStore } from '../../src';
import { AuditHealthIndicator } from '../../src/terminus';
import { PLATFORMS, startApp, tempDir } from '../utils/apps';
import { NoteOrdersController } from '../utils/note-orders';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly audit: AuditHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.audit.check('audit', { tamperedIsDown: true })]);
  }
}

@Module({
  imports: [TerminusModule],
  controllers: [HealthController],
  providers: [AuditHealthIndicator],
})
class HealthModule {}

describe.each(PLATFORMS)('AuditService.verify() on %s', (platform) => {
  it('verifies the chain of what the app recorded, then names the event someone edited in the file', async () => {
    const { dir, cleanup } = tempDir();
    const path = join(dir, 'audit.db');
    const running = await startApp(platform, {
      imports: [
        AuditModule.forRoot({ store: path, stream: false, exclude: ['/health'] }),
        HealthModule,
      ],
      controllers: [NoteOrdersController],
    });
    try {
      for (let i = 1; i <= 12; i += 1) {
        await request(running.url)
          .patch(`/orders/${i}`)
          .send({ note: `n${i}` })
          .expect(200);
      }
      const audit = running.app.get(AuditService);
      expect(audit.health().integrity).toBeUndefined();
      const intact = await audit.verify();
      expect(intact).toMatchObject({ intact: true, verifiedTo: 12, events: 12 });
      expect(audit.health().integrity).toEqual({
        intact: true,
        verifiedTo: 12,
        verifiedAt: intact.verifiedAt,
      });
      const healthy = await request(running.url).get('/health').expect(200);
      expect(healthy.body.info.audit.integrity).toMatchObject({ intact: true, verifiedTo: 12 });

      // Someone with write access to the file turns the outcome of #5 into a failure.
      const db = new Database(path);
      db.exec('DROP TRIGGER audit_payloads_append_only_update');
      db.prepare(
        `UPDATE audit_payloads SET payload = replace(payload, '"outcome":"success"', '"outcome":"failure"') WHERE seq = 5`,
      ).run();
      db.close();

      const tampered = await audit.verify();
      expect(tampered).toMatchObject({
        intact: false,
        verifiedTo: 4,
        break: { kind: 'modified', seq: 5 },
      });
      const down = await request(running.url).get('/health').expect(503);
      expect(down.body.error.audit.integrity).toMatchObject({ intact: false, break: { seq: 5 } });
    } finally {
      await running.close();
      cleanup();
    }
  });

  it('says plainly that the in-memory store keeps no chain', async () => {
    const running = await startApp(platform, {
      imports: [AuditModule.forRoot({ store: new InMemoryAuditStore(), stream: false })],
      controllers: [NoteOrdersController],
    });
    try {
      await expect(running.app.get(AuditService).verify()).rejects.toThrow(/keeps no hash chain/);
    } finally {
      await running.close();
    }
  });
});
