// Entry point `nestjs-audit/mikro-orm`: kept apart from the main entry so that apps without
// MikroORM never load @mikro-orm/core.
export {
  AuditMikroOrmModule,
  MikroOrmAuditSubscriber,
  registerMikroOrmAudit,
  type AuditMikroOrmModuleOptions,
  type MikroOrmAuditOptions,
} from './orm/mikro-orm';
