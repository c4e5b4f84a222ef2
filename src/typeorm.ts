// Entry point `nestjs-audit/typeorm`: kept apart from the main entry so that apps without
// TypeORM never load it.
export { AuditTypeOrmModule, type AuditTypeOrmOptions } from './orm/typeorm/audit-typeorm.module';
export {
  sqliteAuditStoreFor,
  type SqliteAuditStoreForOptions,
} from './orm/typeorm/sqlite-audit-store-for';
export { TypeOrmAuditSubscriber } from './orm/typeorm/typeorm-audit.subscriber';
export type { OrmAuditOptions } from './orm/orm-audit.options';
export type { AuditRowChange, AuditRowChangeKind } from './event/row-change';
