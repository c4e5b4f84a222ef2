import { AuditLogger } from '../../common/audit-logger';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { AUDIT_API_OPTIONS, type ResolvedAuditApiOptions } from './audit-api.options';

/**
 * Warns at boot when the audit API is mounted without a guard (`api.public: true`).
 * @internal
 */
@Injectable()
export class AuditApiPublicNotice implements OnModuleInit {
  constructor(@Inject(AUDIT_API_OPTIONS) private readonly api: ResolvedAuditApiOptions) {}

  /** @inheritdoc */
  onModuleInit(): void {
    if (!this.api.isPublic) return;
    new AuditLogger().warn(
      `nestjs-audit: the audit API at /${this.api.path} has no guard (api.public: true): anyone who can reach this app can read the whole audit trail. Set api.guard to restrict it.`,
    );
  }
}
