import { Controller, Get } from '@nestjs/common';
import { AuditExempt, AuditService, type AuditHealth } from '../../src';

/** Health checks are polled every few seconds: never audited. Reports the audit write path too. */
@Controller('health')
@AuditExempt()
export class HealthController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  check(): { status: 'ok'; audit: AuditHealth } {
    return { status: 'ok', audit: this.audit.health() };
  }
}
