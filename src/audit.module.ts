import { AuditChangeRecorder } from './orm/audit-change-recorder';
import { Module, type DynamicModule, type NestModule } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { AUDIT_RESOLVED_OPTIONS } from './audit.constants';
import {
  AUDIT_ASYNC_OPTIONS_TYPE,
  AUDIT_MODULE_OPTIONS,
  AUDIT_OPTIONS_TYPE,
  ConfigurableAuditModule,
} from './audit.module-definition';
import { type AuditModuleOptions, type ResolvedAuditOptions } from './audit.options';
import { AuditConfigurationError } from './common/audit-configuration.error';
import { resolveAuditOptions } from './options/resolve-audit-options';
import { AuditService } from './audit.service';
import { AuditContextStorage } from './capture/audit-context';
import { AuditLoaders } from './capture/audit-loaders';
import { AuditInterceptor } from './capture/audit.interceptor';
import { RequestCapture } from './capture/request-capture';
import { RouteCatalog } from './capture/route-catalog';
import { AuditAlarms } from './alarms/audit-alarms';
import { AuditStream } from './ecs/audit-stream';
import { AuditPipeline } from './pipeline/audit-pipeline';
import { AuditStore } from './stores/audit-store';
import { SqliteAuditStore } from './stores/sqlite/sqlite-audit.store';

async function openStore(options: ResolvedAuditOptions): Promise<AuditStore> {
  const configured = options.store;
  let store: unknown;
  if (typeof configured === 'string') {
    // In 'ack' mode a commit that returned must survive power loss, so fsync every commit.
    const synchronous = options.durability === 'ack' ? 'FULL' : 'NORMAL';
    store = new SqliteAuditStore({ path: configured, synchronous, fileMode: options.fileMode });
  } else if (configured instanceof AuditStore) store = configured;
  else store = await configured();
  if (!(store instanceof AuditStore)) {
    throw new AuditConfigurationError(
      'nestjs-audit: option "store" is a factory that did not return an AuditStore. Return e.g. new SqliteAuditStore({ path }) or a class extending AuditStore.',
    );
  }
  await store.init();
  return store;
}

/**
 * Records who changed what, when, from where and with what outcome.
 *
 * `forRoot()` with no options records every mutation to `./audit.db` (SQLite) and prints one ECS
 * line per event on stdout. The module is global: inject `AuditService` anywhere.
 *
 * @example
 * ```ts
 * @Module({ imports: [AuditModule.forRoot({ exclude: ['/health'] })] })
 * export class AppModule {}
 *
 * // or, from configuration:
 * AuditModule.forRootAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ store: config.get('AUDIT_DB') }),
 * })
 * ```
 */
@Module({
  providers: [
    {
      provide: AUDIT_RESOLVED_OPTIONS,
      useFactory: (options: AuditModuleOptions) => resolveAuditOptions(options),
      inject: [AUDIT_MODULE_OPTIONS],
    },
    { provide: AuditStore, useFactory: openStore, inject: [AUDIT_RESOLVED_OPTIONS] },
    AuditContextStorage,
    {
      provide: RouteCatalog,
      useFactory: (options: ResolvedAuditOptions) =>
        new RouteCatalog({
          scope: options.scope,
          interceptor: options.interceptor,
          interceptorType: AuditInterceptor,
        }),
      inject: [AUDIT_RESOLVED_OPTIONS],
    },
    AuditLoaders,
    RequestCapture,
    AuditStream,
    AuditAlarms,
    AuditPipeline,
    AuditService,
    AuditChangeRecorder,
    AuditInterceptor,
  ],
  exports: [
    AuditService,
    AuditChangeRecorder,
    AuditStore,
    AuditInterceptor,
    AuditContextStorage,
    AuditPipeline,
    RequestCapture,
    AuditLoaders,
    AUDIT_RESOLVED_OPTIONS,
  ],
})
export class AuditModule extends ConfigurableAuditModule implements NestModule {
  constructor(
    private readonly capture: RequestCapture,
    private readonly loaders: AuditLoaders,
    private readonly adapterHost: HttpAdapterHost,
    private readonly modules: ModulesContainer,
  ) {
    super();
  }

  /**
   * Runs as the application initialises, after the body parsers and before the routes are
   * registered: checks the loaders, and hooks request capture into the HTTP adapter.
   * @internal
   */
  configure(): void {
    this.loaders.verify(this.modules);
    this.capture.install(this.adapterHost, this.modules);
  }

  /**
   * Registers the module; every option is optional (see `AuditModuleOptions`).
   * @example
   * ```ts
   * AuditModule.forRoot({ scope: 'mutations', exclude: ['/health'] })
   * ```
   */
  static override forRoot(options: typeof AUDIT_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options ?? {});
  }

  /**
   * Registers the module with options from a factory (`useFactory` + `inject` + `imports`),
   * a class (`useClass`, implementing `createAuditOptions()`) or an existing provider (`useExisting`).
   */
  static override forRootAsync(options: typeof AUDIT_ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }
}
