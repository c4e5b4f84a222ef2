import {
  Module,
  type DynamicModule,
  type InjectionToken,
  type ModuleMetadata,
} from '@nestjs/common';
import { MikroORM } from '@mikro-orm/core';
import { AuditChangeRecorder } from '../audit-change-recorder';
import { closeAfterCaptures } from '../close-after-captures';
import type { MikroOrmAuditOptions } from './mikro-orm-audit.options';
import { MikroOrmAuditSubscriber } from './mikro-orm-audit.subscriber';

/** Options of {@link AuditMikroOrmModule.forRoot}. */
export interface AuditMikroOrmModuleOptions extends MikroOrmAuditOptions {
  /**
   * The provider token of the `MikroORM` instance (e.g. a second database's).
   * @default MikroORM (the class, as `@mikro-orm/nestjs` and a plain custom provider use it)
   */
  orm?: InjectionToken;
  /**
   * Modules that export the `MikroORM` provider, when it is not global (`@mikro-orm/nestjs`
   * makes it global; a custom provider in a module of yours needs that module here).
   * @default []
   */
  imports?: ModuleMetadata['imports'];
}

/** Registers a subscriber on a MikroORM instance from DI; returns it (for the bulk writes). */
export function registerMikroOrmAudit(
  orm: Pick<MikroORM, 'em'>,
  recorder: AuditChangeRecorder,
  options: MikroOrmAuditOptions = {},
): MikroOrmAuditSubscriber {
  const subscriber = new MikroOrmAuditSubscriber(recorder, options);
  orm.em.getEventManager().registerSubscriber(subscriber);
  return subscriber;
}

/**
 * Records the changes every flush of the app's MikroORM makes (see
 * {@link MikroOrmAuditSubscriber}). Import it beside `AuditModule`; it provides and exports the
 * registered `MikroOrmAuditSubscriber` (inject it for `nativeUpdate()` / `nativeDelete()`).
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     AuditModule.forRoot({ store: new PostgresAuditStore({ connectionString }) }),
 *     DatabaseModule, // provides MikroORM (or MikroOrmModule.forRoot() of @mikro-orm/nestjs)
 *     AuditMikroOrmModule.forRoot({ imports: [DatabaseModule], softDelete: 'deletedAt' }),
 *   ],
 * })
 * export class AppModule {}
 * ```
 */
@Module({})
export class AuditMikroOrmModule {
  static forRoot(options: AuditMikroOrmModuleOptions = {}): DynamicModule {
    const { orm = MikroORM, imports = [], ...auditOptions } = options;
    return {
      module: AuditMikroOrmModule,
      imports,
      providers: [
        {
          provide: MikroOrmAuditSubscriber,
          inject: [AuditChangeRecorder, orm],
          useFactory: (recorder: AuditChangeRecorder, instance: MikroORM) => {
            closeAfterCaptures(instance, 'close', recorder);
            return registerMikroOrmAudit(instance, recorder, auditOptions);
          },
        },
      ],
      exports: [MikroOrmAuditSubscriber],
    };
  }
}
