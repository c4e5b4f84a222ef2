// The public API of an application. Explicit named exports only: a test checks this list, so
// nothing internal leaks by accident and nothing public disappears silently. What writing a
// store takes (the outbox contract, claims, settlements, the normalized query) is in
// `nestjs-audit/store` (src/store.ts).
export {
  ALARM_SEVERITIES,
  type AlarmChange,
  type AlarmEventSummary,
  type AlarmKind,
  type AlarmMessage,
  type AlarmSeverity,
} from './stores/alarm-message';
export type {
  AlarmChannelCommon,
  AlarmChannelConfig,
  AlarmRule,
  AuditAlarmOptions,
  EmailChannelConfig,
  SlackChannelConfig,
  WebhookChannelConfig,
} from './alarms/alarm-options';
export type { AlarmRateLimit } from './alarms/alarm-rate-limit';
export type {
  AlarmAttempt,
  AlarmAttemptQuery,
  AlarmListQuery,
  AlarmOutboxStats,
  AlarmStatus,
  StoredAlarm,
} from './stores/alarm-outbox-model';
export type { AlarmTransition, AlarmTransitionValue } from './alarms/alarm-rule-transition';
export type { AlarmDispatcherStats } from './alarms/alarm-dispatcher-stats';
export type { ManualAlarmInput } from './alarms/manual-alarm';
export type { AuditAlarmHealth } from './alarms/audit-alarms';
export {
  AlarmDeliveryError,
  AlarmNotifier,
  type AlarmSendContext,
} from './alarms/notifiers/alarm-notifier';
export { EmailNotifier } from './alarms/notifiers/email.notifier';
export { SlackNotifier } from './alarms/notifiers/slack.notifier';
export {
  AUDIT_WEBHOOK_PAYLOAD_VERSION,
  WebhookNotifier,
  type AuditWebhookPayload,
} from './alarms/notifiers/webhook.notifier';
export {
  verifyAuditWebhookSignature,
  type VerifyAuditWebhookOptions,
} from './alarms/notifiers/webhook-signature';
export { AuditModule } from './audit.module';
export type { AuditModuleExtras, AuditOptionsFactory } from './audit.module-definition';
export type {
  AuditAsyncDurabilityOptions,
  AuditLineDestination,
  AuditModuleOptions,
  AuditRedactOptions,
  AuditScope,
  AuditSpoolPolicyOptions,
} from './audit.options';
export { AuditService, type AuditHistoryPageOptions } from './audit.service';
export type { AuditRecordInput, AuditUpdateExtra } from './audit-record-input';
export { AuditContext } from './capture/audit-context';
export { AlarmInputError } from './common/alarm-input.error';
export { AuditConfigurationError } from './common/audit-configuration.error';
export { AuditError, type AuditErrorCode } from './common/audit-error';
export { AuditInternalError } from './common/audit-internal.error';
export { AuditQueryError } from './common/audit-query.error';
export { AuditRecordError } from './common/audit-record.error';
export { AuditShutdownError } from './common/audit-shutdown.error';
export { AuditStateError } from './common/audit-state.error';
export { AuditStoreError } from './common/audit-store.error';
export { AuditChangeRecorder } from './orm/audit-change-recorder';
export type { TransactionChanges } from './orm/transaction-changes';
export type { OrmAuditOptions } from './orm/orm-audit.options';
export type { AuditRowChange, AuditRowChangeKind } from './event/row-change';
export { AuditExempt } from './capture/audit-exempt.decorator';
export {
  Audited,
  type AuditedOptions,
  type AuditLoadContext,
  type AuditLoader,
  type AuditLoadFunction,
  type AuditRouteRequest,
} from './capture/audited.decorator';
export { AuditInterceptor } from './capture/audit.interceptor';
export type { AuditHttpRequest } from './capture/http-adapter';
export {
  AUDIT_EVENT_SCHEMA_VERSION,
  ECS_EVENT_CATEGORIES,
  ECS_EVENT_TYPES,
  type AuditActor,
  type AuditActorInput,
  type AuditChanges,
  type AuditEvent,
  type AuditFieldChange,
  type AuditLevel,
  type AuditOutcome,
  type AuditRequestInfo,
  type AuditSource,
  type AuditTarget,
  type AuditTruncation,
  type EcsEventCategory,
  type EcsEventType,
} from './event/audit-event';
export type { AuditVerb } from './event/categorize';
export { REDACTED } from './event/redact';
export type { AuditIpPrefixes, AuditPrivacyOptions, AuditPseudonymField } from './event/privacy';
export { ECS_VERSION, formatEcs, type EcsDocument } from './ecs/ecs.formatter';
export type { EcsPipelineFailureDocument } from './ecs/pipeline-failure.formatter';
export type { AuditHealth } from './pipeline/audit-pipeline';
export { parseCheckpointLines, type AuditCheckpoint } from './integrity/checkpoint';
export type { AuditCheckpointOptions } from './integrity/checkpoint-options';
export {
  ChainRangeError,
  type ChainBreak,
  type ChainBreakKind,
  type ChainVerification,
  type VerifyChainOptions,
} from './integrity/verify';
export {
  AuditCommitError,
  type AuditWriteReceipt,
  type AuditWriterStats,
} from './pipeline/audit-writer.contract';
export { MAX_QUERY_LIMIT, type AuditQuery, type AuditQueryResult } from './query/audit-query';
export type { AuditApiGuard, AuditApiOptions } from './query/api/audit-api.options';
export type { AuditApiHistory, AuditApiPage } from './query/api/audit-api.service';
export type {
  AuditIntegrityStatus,
  AuditIntegrityUnverified,
  AuditIntegrityVerified,
} from './query/audit-integrity';
export { AuditStore } from './stores/audit-store';
export { InMemoryAuditStore } from './stores/memory/memory-audit.store';
export {
  PostgresAuditStore,
  type PostgresAuditStoreCommonOptions,
  type PostgresAuditStoreConnectionOptions,
  type PostgresAuditStoreOptions,
  type PostgresAuditStorePoolOptions,
} from './stores/postgres/postgres-audit.store';
export type {
  PostgresPool,
  PostgresPoolClient,
  PostgresQueryConfig,
  PostgresQueryResult,
} from './stores/postgres/postgres-driver';
export { PostgresSchemaError, type PostgresPartitioning } from './stores/postgres/postgres.schema';
export { SqliteAuditStore } from './stores/sqlite/sqlite-audit.store';
export type { SqliteAuditStoreOptions } from './stores/sqlite/sqlite-options';
