import { ECS_EVENT_CATEGORIES, ECS_EVENT_TYPES } from '../event/audit-event';
import { ECS_VERSION } from './ecs.formatter';
import { formatPipelineFailure, type AuditPipelineFailure } from './pipeline-failure.formatter';

const failure: AuditPipelineFailure = {
  timestamp: '2026-03-01T10:20:30.456Z',
  reason: 'store_failure',
  message: 'nestjs-audit: could not commit 2 audit event(s) to the postgres store: timeout',
  store: 'postgres',
  error: { type: 'Error', message: 'timeout' },
  events: [
    { id: 'e-1', action: 'user.update', requestId: 'r-1' },
    { id: 'e-2', action: 'job.run' },
  ],
};

describe('formatPipelineFailure', () => {
  it('writes an ECS error line in the leading-key order of event lines, naming the lost events', () => {
    const doc = formatPipelineFailure(failure, { name: 'billing-api', version: '1.4.0' });

    expect(Object.keys(doc)).toEqual([
      '@timestamp',
      'log.level',
      'message',
      'ecs.version',
      'log.logger',
      'event',
      'service',
      'error',
      'audit',
    ]);
    expect(doc).toEqual({
      '@timestamp': failure.timestamp,
      'log.level': 'error',
      message: failure.message,
      'ecs.version': ECS_VERSION,
      'log.logger': 'audit',
      event: {
        kind: 'event',
        action: 'audit.pipeline_failure',
        category: ['database'],
        type: ['error'],
        outcome: 'failure',
        dataset: 'billing-api.audit',
        reason: 'store_failure',
      },
      service: { name: 'billing-api', version: '1.4.0' },
      error: { type: 'Error', message: 'timeout' },
      audit: {
        pipeline_failure: {
          reason: 'store_failure',
          store: 'postgres',
          count: 2,
          events: [
            { id: 'e-1', action: 'user.update', request_id: 'r-1' },
            { id: 'e-2', action: 'job.run' },
          ],
        },
      },
    });
    for (const c of doc.event.category) expect(ECS_EVENT_CATEGORIES).toContain(c);
    for (const t of doc.event.type) expect(ECS_EVENT_TYPES).toContain(t);
  });

  it('leaves out the error when the failure has none (a dropped event)', () => {
    const { error: _error, ...dropped } = failure;

    const doc = formatPipelineFailure({ ...dropped, reason: 'queue_full' }, { name: 'app' });

    expect(doc).not.toHaveProperty('error');
    expect(doc.event.reason).toBe('queue_full');
  });
});
