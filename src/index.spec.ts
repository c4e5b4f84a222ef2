import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as api from './index';
import * as storeApi from './store';

/** The names an entry file exports, types included (`export { a, type B } from '...'`). */
function exportedNames(entry: string): string[] {
  const text = readFileSync(join(__dirname, entry), 'utf8');
  return [...text.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((match) =>
    (match[1] as string)
      .split(',')
      .map((name) => name.replace(/^\s*type\s+/, '').trim())
      .filter((name) => name.length > 0),
  );
}

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
        'AuditInternalError',
        'AuditStateError',
        'AuditStoreError',
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

  it('leaves what only a store implementation needs to nestjs-audit/store', () => {
    const root = exportedNames('index.ts');
    const store = exportedNames('store.ts');
    const implementerOnly = [
      'AlarmOutbox',
      'AlarmClaim',
      'AlarmClaimRequest',
      'AlarmOutboxEntry',
      'AlarmSettlement',
      'AuditCursor',
      'AuditQueryFilters',
      'NormalizedAuditQuery',
      'encodeCursor',
    ];
    expect(root.filter((name) => implementerOnly.includes(name))).toEqual([]);
    expect(store).toEqual(expect.arrayContaining([...implementerOnly, 'AuditStore', 'AuditEvent']));
    expect(root).toHaveLength(135);
  });
});

describe('nestjs-audit/store', () => {
  it('exports the contracts and the cursor encoding, the same AuditStore as the root', () => {
    expect(Object.keys(storeApi).sort()).toEqual([
      'AlarmOutbox',
      'AuditRecordError',
      'AuditStore',
      'encodeCursor',
    ]);
    expect(storeApi.AuditStore).toBe(api.AuditStore);
    expect(storeApi.AuditRecordError).toBe(api.AuditRecordError);
  });
});
