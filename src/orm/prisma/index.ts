export { auditExtension } from './prisma-audit.extension';
export type { PrismaAuditOptions } from './prisma-audit.options';
