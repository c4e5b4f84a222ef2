import * as api from './index';

describe('public API', () => {
  it('exports exactly the documented runtime values', () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        'ALARM_SEVERITIES',
        'AUDIT_EVENT_SCHEMA_VERSION',
        'AUDIT_WEBHOOK_PAYLOAD_VERSION',
        'AlarmDeliveryError',
        'AlarmInputError',
        'AlarmNotifier',
        'EmailNotifier',
        'SlackNotifier',
        'WebhookNotifier',
        'verifyAuditWebhookSignature',
        'AuditChangeRecorder',
        'AuditCommitError',
        'AuditConfigurationError',
        'AuditContext',
        'AuditError',
        'AuditExempt',
        'AuditInterceptor',
        'AuditModule',
        'AuditQueryError',
        'AuditRecordError',
        'AuditService',
        'AuditShutdownError',
        'AuditStore',
        'Audited',
        'ChainRangeError',
        'ECS_EVENT_CATEGORIES',
        'ECS_EVENT_TYPES',
        'ECS_VERSION',
        'InMemoryAuditStore',
        'MAX_QUERY_LIMIT',
        'PostgresAuditStore',
        'PostgresSchemaError',
        'REDACTED',
        'SqliteAuditStore',
        'formatEcs',
        'parseCheckpointLines',
      ].sort(),
    );
  });
});
