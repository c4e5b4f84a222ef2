import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { AuditService } from '../audit.service';

/** Options of {@link AuditHealthIndicator.check}. */
export interface AuditHealthCheckOptions {
  /**
   * Report `down` while the store fails even though events are safe in the spool or the async
   * queue. Leave it off for liveness probes (restarting would not help), turn it on for alerts.
   * @default false
   */
  degradedIsDown?: boolean;
  /**
   * Report `down` when the latest `AuditService.verify()` found the trail tampered with. Leave
   * it off for liveness probes, turn it on for alerts.
   * @default false
   */
  tamperedIsDown?: boolean;
}

/**
 * A `@nestjs/terminus` health indicator for the audit write path. Import it from
 * `nestjs-audit/terminus` (it needs `@nestjs/terminus`) and list it in your providers next to
 * `TerminusModule`.
 *
 * @example
 * ```ts
 * @Get('health')
 * @HealthCheck()
 * check() {
 *   return this.health.check([() => this.audit.check('audit')]);
 * }
 * ```
 */
@Injectable()
export class AuditHealthIndicator {
  constructor(
    private readonly audit: AuditService,
    private readonly indicators: HealthIndicatorService,
  ) {}

  /**
   * `up` unless the audit store fails with nowhere to put events (or, optionally, degraded, or
   * found tampered with by the latest `AuditService.verify()`).
   */
  check<const Key extends string>(
    key: Key,
    options: AuditHealthCheckOptions = {},
  ): HealthIndicatorResult<Key> {
    const health = this.audit.health();
    const session = this.indicators.check(key);
    const data = {
      state: health.status,
      store: health.store,
      queueDepth: health.pending,
      spooledEvents: health.spool?.events ?? 0,
      dropped: health.dropped,
      lost: health.lost,
      ...(health.lastError ? { lastError: health.lastError, lastErrorAt: health.lastErrorAt } : {}),
      ...(health.integrity ? { integrity: health.integrity } : {}),
    };
    const down =
      health.status === 'down' ||
      (options.degradedIsDown === true && health.status === 'degraded') ||
      (options.tamperedIsDown === true && health.integrity?.intact === false);
    return down ? session.down(data) : session.up(data);
  }
}
