import { SetMetadata } from '@nestjs/common';
import { AUDIT_EXEMPT_METADATA } from '../audit.constants';

/**
 * Never audit this route (or any route of this controller), whatever the scope. At the same level
 * it beats `@Audited()`; a method-level `@Audited()` beats a class-level `@AuditExempt()`.
 *
 * @example
 * ```ts
 * @Get('health')
 * @AuditExempt()
 * health() { return { ok: true }; }
 * ```
 */
export function AuditExempt(): MethodDecorator & ClassDecorator {
  return SetMetadata(AUDIT_EXEMPT_METADATA, true);
}
