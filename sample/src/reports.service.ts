import { Injectable } from '@nestjs/common';
import { AuditService } from '../../src';

/** Work done outside HTTP (a cron job, a queue consumer) records manual entries. */
@Injectable()
export class ReportsService {
  constructor(private readonly audit: AuditService) {}

  async nightlyExport(rows: number): Promise<void> {
    await this.audit.record({
      action: 'report.export',
      target: { type: 'report', id: 'daily-users' },
      message: `Nightly export of ${rows} users`,
      labels: { rows },
    });
  }
}
