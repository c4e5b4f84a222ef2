import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { AuditModuleOptions } from './audit.options';
import { auditApiModuleParts } from './query/api/audit-api-mount';
import { resolveAuditApiOptions, type AuditApiOptions } from './query/api/audit-api.options';

/**
 * Options read when the module is built, given to `forRoot()` and beside the factory of
 * `forRootAsync()` (never returned by it): they decide which controllers exist.
 */
export interface AuditModuleExtras {
  /**
   * Register the module globally.
   * @default true
   */
  isGlobal?: boolean;
  /**
   * The read-only HTTP API and viewer page over the trail; see {@link AuditApiOptions}.
   * @default not mounted
   */
  api?: AuditApiOptions;
}

/** The ConfigurableModuleBuilder call behind `AuditModule.forRoot()` / `forRootAsync()`. */
export const {
  ConfigurableModuleClass: ConfigurableAuditModule,
  MODULE_OPTIONS_TOKEN: AUDIT_MODULE_OPTIONS,
  OPTIONS_TYPE: AUDIT_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: AUDIT_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AuditModuleOptions>({ moduleName: 'Audit' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createAuditOptions')
  .setExtras<AuditModuleExtras>({ isGlobal: true, api: undefined }, (definition, extras) => {
    const api = auditApiModuleParts(resolveAuditApiOptions(extras.api));
    return {
      ...definition,
      global: extras.isGlobal,
      imports: [...(definition.imports ?? []), ...api.imports],
      controllers: [...(definition.controllers ?? []), ...api.controllers],
      providers: [...(definition.providers ?? []), ...api.providers],
    };
  })
  .build();

/**
 * Implemented by a class passed to `AuditModule.forRootAsync({ useClass })`.
 * @example
 * ```ts
 * @Injectable()
 * class AuditConfig implements AuditOptionsFactory {
 *   createAuditOptions(): AuditModuleOptions { return { store: process.env.AUDIT_DB }; }
 * }
 * ```
 */
export interface AuditOptionsFactory {
  createAuditOptions(): AuditModuleOptions | Promise<AuditModuleOptions>;
}
