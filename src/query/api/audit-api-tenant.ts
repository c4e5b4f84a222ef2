import { ForbiddenException } from '@nestjs/common';
import type { AuditHttpRequest } from '../../capture/http-adapter';
import type { AuditEvent } from '../../event/audit-event';
import type { ResolvedAuditApiOptions } from './audit-api.options';

/** The tenant a read is scoped to: `undefined` when `api.tenant` is not set (every tenant). */
export type ReaderTenant = string | undefined;

/**
 * The reader's tenant by `api.tenant`. Refuses (403) a reader it resolves to no tenant: with
 * tenants configured, an unscoped read would show every tenant's events.
 */
export async function readerTenantOf(
  api: Pick<ResolvedAuditApiOptions, 'tenant'> | undefined,
  req: AuditHttpRequest,
): Promise<ReaderTenant> {
  if (api?.tenant === undefined) return undefined;
  const tenant = await api.tenant(req);
  if (typeof tenant !== 'string' || tenant.length === 0) {
    throw new ForbiddenException(
      'The audit trail is scoped by tenant (api.tenant) and no tenant was resolved for this reader: make api.tenant return the tenant of the signed-in reader.',
    );
  }
  return tenant;
}

/** Whether a reader scoped to `tenant` may see `event`. */
export function tenantMaySee(tenant: ReaderTenant, event: AuditEvent): boolean {
  return tenant === undefined || event.tenant === tenant;
}
