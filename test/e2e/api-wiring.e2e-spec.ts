import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  AuditConfigurationError,
  AuditModule,
  AuditService,
  InMemoryAuditStore,
  type AuditModuleOptions,
} from '../../src';
import { PLATFORMS, startApp, type RunningApp } from '../utils/apps';
import { ADMIN_HEADERS, AdminHeaderGuard } from '../utils/api-app';

@Injectable()
class AuditSettings {
  readonly store = new InMemoryAuditStore();
  options(): AuditModuleOptions {
    return { store: this.store, stream: false };
  }
}

@Module({ providers: [AuditSettings], exports: [AuditSettings] })
class SettingsModule {}

describe.each(PLATFORMS)('the api option of AuditModule on %s', (platform) => {
  let running: RunningApp | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('mounts with forRootAsync when given beside the factory', async () => {
    running = await startApp(platform, {
      imports: [
        AuditModule.forRootAsync({
          imports: [SettingsModule],
          inject: [AuditSettings],
          useFactory: (settings: AuditSettings) => settings.options(),
          api: { path: 'trail', guard: AdminHeaderGuard },
        }),
      ],
    });
    await request(running.url).get('/trail/events').expect(403);
    await request(running.url).get('/trail/events').set(ADMIN_HEADERS).expect(200);
    const settings = running.app.get(AuditSettings);
    // The refused read is recorded as such, the admitted one as its read.
    expect(settings.store.all().map((e) => `${e.action}:${e.outcome}`)).toEqual([
      'audit.read:failure',
      'audit.read:success',
    ]);
    expect(running.app.get(AuditService)).toBeDefined();
  });

  it('mounts nothing without the option', async () => {
    running = await startApp(platform, {
      imports: [AuditModule.forRoot({ store: new InMemoryAuditStore(), stream: false })],
    });
    await request(running.url).get('/audit/events').expect(404);
  });
});

describe('the api option of AuditModule, misconfigured', () => {
  it('throws from forRoot() without a guard and without public: true', () => {
    expect(() => AuditModule.forRoot({ stream: false, api: { path: 'audit' } })).toThrow(
      AuditConfigurationError,
    );
    expect(() => AuditModule.forRoot({ stream: false, api: {} })).toThrow(
      /option "api.guard" is missing/,
    );
    expect(() => AuditModule.forRootAsync({ useFactory: () => ({}), api: {} })).toThrow(
      /option "api.guard" is missing/,
    );
  });

  it('says where to put the option when a forRootAsync() factory returns it', async () => {
    const failure = await Test.createTestingModule({
      imports: [
        AuditModule.forRootAsync({
          useFactory: () =>
            ({
              store: new InMemoryAuditStore(),
              stream: false,
              api: { public: true },
            }) as AuditModuleOptions,
        }),
      ],
    })
      .compile()
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(AuditConfigurationError);
    expect((failure as Error).message).toMatch(
      /option "api" was returned by the forRootAsync\(\) factory.*Pass it beside the factory/,
    );
  });
});
