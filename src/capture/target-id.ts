import { AuditLogger } from '../common/audit-logger';
import type { AuditHttpRequest } from './http-adapter';
import type { RoutePlan } from './route-plan';

const MAX_ID_CHARS = 256;
const logger = new AuditLogger();

function idText(id: unknown): string | undefined {
  if (typeof id === 'string') return id.length > 0 ? id.slice(0, MAX_ID_CHARS) : undefined;
  if (typeof id === 'number' || typeof id === 'bigint') return String(id);
  return undefined;
}

/**
 * The target id of a route's event: `@Audited({ id })` as a function of the request and the
 * handler's result, or a route parameter name (default `id`) with the result's field of the
 * same name as fallback (a creation learns its id from what it returns).
 */
export function targetIdOf(
  plan: RoutePlan,
  req: AuditHttpRequest,
  result: unknown,
): string | undefined {
  const option = plan.meta?.id ?? 'id';
  if (typeof option === 'function') {
    try {
      return idText(option(req, result));
    } catch (error) {
      logger.warn(
        `nestjs-audit: the "id" function of @Audited('${plan.resourceType}') threw (${error instanceof Error ? error.name : typeof error}); the event has no target id. Make it return undefined instead of throwing.`,
      );
      return undefined;
    }
  }
  const fromParams = req.params?.[option];
  if (fromParams !== undefined) return idText(fromParams);
  if (result !== null && typeof result === 'object') {
    return idText((result as Record<string, unknown>)[option]);
  }
  return undefined;
}
