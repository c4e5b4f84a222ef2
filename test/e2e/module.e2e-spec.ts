import { Controller, Injectable, Module, Post, UseInterceptors } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AuditConfigurationError,
  AuditInterceptor,
  AuditModule,
  AuditService,
  AuditShutdownError,
  AuditStore,
  InMemoryAuditStore,
  SqliteAuditStore,
  type AuditModuleOptions,
  type AuditOptionsFactory,
} from '../../src';
import { LineCollector, PLATFORMS, startApp, tempDir } from '../utils/apps';

@Controller('things')
class ThingsController {
  @Post()
  create(): { id: string } {
    return { id: 't1' };
  }
}

@Controller('manual-things')
@UseInterceptors(AuditInterceptor)
class ManuallyInterceptedController {
  @Post()
  create(): { id: string } {
    return { id: 'm1' };
  }
}

@Injectable()
class ConfigService {
  readonly store = new InMemoryAuditStore();
  get(): AuditModuleOptions {
    return { store: this.store, stream: false, serviceName: 'from-config' };
  }
}

@Module({ providers: [ConfigService], exports: [ConfigService] })
class ConfigModule {}

@Injectable()
class AuditConfig implements AuditOptionsFactory {
  static readonly store = new InMemoryAuditStore();
  createAuditOptions(): AuditModuleOptions {
    return { store: AuditConfig.store, stream: false };
  }
}

async function bootFails(options: unknown): Promise<Error> {
  try {
    const moduleRef = await Test.createTestingModule({
      imports: [AuditModule.forRoot(options as AuditModuleOptions)],
    }).compile();
    await moduleRef.close();
  } catch (error) {
    return error as Error;
  }
  throw new Error('boot did not fail');
}

describe('AuditModule configuration', () => {
  it('works with no options at all: SQLite ./audit.db (stdout lines are checked by the sample test)', async () => {
    const tmp = tempDir();
    const cwd = process.cwd();
    process.chdir(tmp.dir);
    try {
      const running = await startApp('express', {
        imports: [AuditModule.forRoot()],
        controllers: [ThingsController],
      });
      expect(running.app.get(AuditStore)).toBeInstanceOf(SqliteAuditStore);
      await request(running.url).post('/things').expect(201);
      await running.close();
      expect(existsSync(join(tmp.dir, 'audit.db'))).toBe(true);
      const reader = new SqliteAuditStore({ path: join(tmp.dir, 'audit.db') });
      await reader.init();
      const { items } = await reader.query({ limit: 10 });
      await reader.close();
      expect(items.map((e) => e.action)).toEqual(['thing.create']);
    } finally {
      process.chdir(cwd);
      tmp.cleanup();
    }
  });

  it('takes the service name from AUDIT_SERVICE_NAME', async () => {
    const lines = new LineCollector();
    process.env.AUDIT_SERVICE_NAME = 'env-service';
    try {
      const running = await startApp('express', {
        imports: [AuditModule.forRoot({ store: new InMemoryAuditStore(), stream: lines })],
        controllers: [ThingsController],
      });
      await request(running.url).post('/things').expect(201);
      await running.close();
    } finally {
      delete process.env.AUDIT_SERVICE_NAME;
    }
    expect(lines.parsed()[0]).toMatchObject({
      service: { name: 'env-service' },
      event: { dataset: 'env-service.audit' },
    });
  });

  it.each([
    [{ scope: 'everything' }, /option "scope" must be one of 'mutations', 'all', 'decorated'/],
    [{ exclude: ['health'] }, /option "exclude\[0\]" must be a path starting with "\/"/],
    [{ stores: './x.db' }, /option "stores" is not a known option/],
    [{ maxValueBytes: -1 }, /option "maxValueBytes" must be a whole number/],
    [
      { store: 42 },
      /option "store" must be a SQLite file path, an AuditStore instance or a factory/,
    ],
    [{ actor: 'req.user' }, /option "actor" must be a function/],
    [{ redact: ['ok', ''] }, /option "redact" must be an array of non-empty/],
    [{ store: () => ({}) }, /factory that did not return an AuditStore/],
  ])('fails at boot on invalid options %p', async (options, message) => {
    const error = await bootFails(options);
    expect(error).toBeInstanceOf(AuditConfigurationError);
    expect(error.message).toMatch(message);
  });

  it('fails at boot with a clear error when the SQLite file cannot be opened', async () => {
    const tmp = tempDir();
    try {
      const error = await bootFails({ store: tmp.dir, stream: false });
      expect(error.message).toContain(tmp.dir);
    } finally {
      tmp.cleanup();
    }
  });

  it('forRootAsync with useFactory, inject and imports', async () => {
    const running = await startApp('express', {
      imports: [
        AuditModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => config.get(),
        }),
      ],
      controllers: [ThingsController],
    });
    await request(running.url).post('/things').expect(201);
    const store = running.app.get(ConfigService).store;
    expect(store.all().map((e) => e.action)).toEqual(['thing.create']);
    await running.close();
  });

  it('forRootAsync with useClass', async () => {
    const running = await startApp('express', {
      imports: [AuditModule.forRootAsync({ useClass: AuditConfig })],
      controllers: [ThingsController],
    });
    await request(running.url).post('/things').expect(201);
    expect(AuditConfig.store.all()).toHaveLength(1);
    await running.close();
  });

  it('forRootAsync with useExisting', async () => {
    const store = new InMemoryAuditStore();
    @Injectable()
    class ExistingConfig implements AuditOptionsFactory {
      createAuditOptions(): AuditModuleOptions {
        return { store, stream: false };
      }
    }
    @Module({ providers: [ExistingConfig], exports: [ExistingConfig] })
    class ExistingModule {}
    const running = await startApp('express', {
      imports: [
        AuditModule.forRootAsync({ imports: [ExistingModule], useExisting: ExistingConfig }),
      ],
      controllers: [ThingsController],
    });
    await request(running.url).post('/things').expect(201);
    expect(store.all()).toHaveLength(1);
    await running.close();
  });

  it('is global: AuditService is injectable in a module that does not import AuditModule', async () => {
    @Injectable()
    class Consumer {
      constructor(readonly audit: AuditService) {}
    }
    @Module({ providers: [Consumer] })
    class FeatureModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        AuditModule.forRoot({ store: new InMemoryAuditStore(), stream: false }),
        FeatureModule,
      ],
    }).compile();
    expect(moduleRef.get(Consumer).audit).toBeInstanceOf(AuditService);
    await moduleRef.close();
  });
});

describe.each(PLATFORMS)('interceptor registration on %s', (platform) => {
  it('interceptor: false disables the global one; @UseInterceptors(AuditInterceptor) still audits', async () => {
    const store = new InMemoryAuditStore();
    const running = await startApp(platform, {
      imports: [AuditModule.forRoot({ store, stream: false, interceptor: false })],
      controllers: [ThingsController, ManuallyInterceptedController],
    });
    await request(running.url).post('/things').expect(201);
    expect(store.all()).toHaveLength(0);
    await request(running.url).post('/manual-things').expect(201);
    expect(store.all().map((e) => e.action)).toEqual(['manual_thing.create']);
    await running.close();
  });

  it('records a request once when both the global and a controller interceptor apply', async () => {
    const store = new InMemoryAuditStore();
    const running = await startApp(platform, {
      imports: [AuditModule.forRoot({ store, stream: false })],
      controllers: [ManuallyInterceptedController],
    });
    await request(running.url).post('/manual-things').expect(201);
    expect(store.all()).toHaveLength(1);
    await running.close();
  });

  it('app.close() flushes queued events and closes the store', async () => {
    const tmp = tempDir();
    const path = join(tmp.dir, 'audit.db');
    const file = join(tmp.dir, 'audit.ndjson');
    try {
      const running = await startApp(platform, {
        imports: [AuditModule.forRoot({ store: path, stream: file })],
        controllers: [ThingsController],
      });
      const audit = running.app.get(AuditService);
      const pending = Array.from({ length: 250 }, (_, i) =>
        audit.record({ action: 'bulk.import', labels: { i } }),
      );
      await running.close();
      await Promise.all(pending);
      await expect(audit.record({ action: 'late.write' })).rejects.toThrow(AuditShutdownError);
      const reader = new SqliteAuditStore({ path });
      await reader.init();
      const { items } = await reader.query({ action: 'bulk.import', limit: 1000 });
      await reader.close();
      expect(items).toHaveLength(250);
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      // Every event's line, then the checkpoint taken at shutdown, which covers all of them.
      expect(lines).toHaveLength(251);
      const last = JSON.parse(lines[250]!) as {
        event: { action: string };
        audit: { checkpoint: { seq: number } };
      };
      expect(last.event.action).toBe('audit.checkpoint');
      expect(last.audit.checkpoint.seq).toBe(250);
    } finally {
      tmp.cleanup();
    }
  });
});
