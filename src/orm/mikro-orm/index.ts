export {
  AuditMikroOrmModule,
  registerMikroOrmAudit,
  type AuditMikroOrmModuleOptions,
} from './audit-mikro-orm.module';
export type { MikroOrmAuditOptions } from './mikro-orm-audit.options';
export { MikroOrmAuditSubscriber } from './mikro-orm-audit.subscriber';
