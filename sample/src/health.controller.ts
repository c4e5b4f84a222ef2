import { Controller, Get } from '@nestjs/common';
import { AuditExempt } from '../../src';

/** Health checks are polled every few seconds: never audited. */
@Controller('health')
@AuditExempt()
export class HealthController {
  @Get()
  check(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
