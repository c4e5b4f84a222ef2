// Entry point `nestjs-audit/terminus`: kept apart from the main entry so that apps without
// @nestjs/terminus never load it.
export {
  AuditHealthIndicator,
  type AuditHealthCheckOptions,
} from './health/audit-health.indicator';
