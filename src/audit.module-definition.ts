import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { AuditModuleOptions } from './audit.options';

/** The ConfigurableModuleBuilder call behind `AuditModule.forRoot()` / `forRootAsync()`. */
export const {
  ConfigurableModuleClass: ConfigurableAuditModule,
  MODULE_OPTIONS_TOKEN: AUDIT_MODULE_OPTIONS,
  OPTIONS_TYPE: AUDIT_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: AUDIT_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AuditModuleOptions>({ moduleName: 'Audit' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createAuditOptions')
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
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
