import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { AuditHttpRequest } from '../../capture/http-adapter';
import { AuditApiService } from './audit-api.service';

/**
 * The first guard of every audit API route: never denies, only sets `Cache-Control: no-store`
 * and the request id header, so that the answers of the guards after it (401, 403) carry them.
 * @internal
 */
@Injectable()
export class AuditApiHeadersGuard implements CanActivate {
  constructor(@Inject(AuditApiService) private readonly api: AuditApiService) {}

  /** @inheritdoc */
  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    this.api.prepare(http.getRequest<AuditHttpRequest>(), http.getResponse<unknown>());
    return true;
  }
}
