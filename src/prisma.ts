// Entry point `nestjs-audit/prisma`: kept apart from the main entry so that apps without Prisma
// never load it.
export { auditExtension, type PrismaAuditOptions } from './orm/prisma';
export { AuditChangeRecorder } from './orm/audit-change-recorder';
export type { OrmAuditOptions } from './orm/orm-audit.options';
