import { chainSourceOf } from './integrity/chain-source';
import { verifyChain, type ChainVerification, type VerifyChainOptions } from './integrity/verify';
import { Inject, Injectable } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import { AuditAlarms } from './alarms/audit-alarms';
import type { ManualAlarmInput } from './alarms/manual-alarm';
import type {
  AlarmAttempt,
  AlarmAttemptQuery,
  AlarmListQuery,
  StoredAlarm,
} from './stores/alarm-outbox-model';
import { requireAlarmOutbox } from './stores/alarm-outbox';
import { AUDIT_RESOLVED_OPTIONS } from './audit.constants';
import type { ResolvedAuditOptions } from './audit.options';
import { AuditContext, AuditContextStorage } from './capture/audit-context';
import { originOf } from './capture/request-facts';
import type { AuditEvent } from './event/audit-event';
import type { AuditEventDraft } from './event/build-event';
import { changedFields } from './event/changed-fields';
import { AuditPipeline, type AuditHealth } from './pipeline/audit-pipeline';
import type { AuditWriterStats } from './pipeline/audit-writer.contract';
import { parseAuditQuery, type AuditQuery, type AuditQueryResult } from './query/audit-query';
import { AuditStore } from './stores/audit-store';
import { isResourceTypeName, quotedForError, RESOURCE_TYPE_RULE } from './event/action-name';
import {
  checkRecordInput,
  draftOfRecord,
  isPlainObject,
  type AuditRecordInput,
  type AuditUpdateExtra,
} from './audit-record-input';
import { AuditRecordError } from './common/audit-record.error';
import { AuditConfigurationError } from './common/audit-configuration.error';

function idOf(value: unknown): string | number | undefined {
  return typeof value === 'string' || typeof value === 'number' ? value : undefined;
}

/**
 * The entry point for manual records and for reading the trail.
 *
 * @example
 * ```ts
 * constructor(private readonly audit: AuditService) {}
 *
 * await this.audit.record({ action: 'invoice.void', target: { type: 'invoice', id } });
 * const { items, nextCursor } = await this.audit.query({ actorId: '42', limit: 20 });
 * ```
 */
@Injectable()
export class AuditService {
  /** The outcome of the latest {@link AuditService.verify}, reported by {@link AuditService.health}. */
  private latestVerification: ChainVerification | undefined;

  constructor(
    private readonly pipeline: AuditPipeline,
    private readonly contexts: AuditContextStorage,
    private readonly store: AuditStore,
    @Inject(AUDIT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditOptions,
    private readonly alarms: AuditAlarms,
  ) {}

  /**
   * The event being built for the current request, to add a filter, results, before/after,
   * labels or a message, or to skip it. `undefined` outside an audited request.
   */
  current(): AuditContext | undefined {
    return this.contexts.current();
  }

  /**
   * Records an event. Works anywhere: inside a request it inherits the request's actor, source,
   * request id and tenant; outside (cron, queue consumers, scripts) the actor is a service actor.
   * @returns the recorded event, once it is committed to the store.
   * @throws AuditRecordError for an invalid entry (missing action, unknown outcome, …).
   */
  async record(input: AuditRecordInput): Promise<AuditEvent> {
    return this.pipeline.submit(this.draftOf(input));
  }

  /**
   * Records an update, keeping only the top-level keys whose values differ between `before` and
   * `after` (an unchanged field never shows up).
   *
   * @example
   * ```ts
   * await audit.recordUpdated('Edit made to MFA information', 'user', oldUser, newUser, { id: user.id });
   * ```
   */
  async recordUpdated(
    message: string,
    recordType: string,
    before: Record<string, unknown> | null | undefined,
    after: Record<string, unknown> | null | undefined,
    extra: AuditUpdateExtra = {},
  ): Promise<AuditEvent> {
    if (!isResourceTypeName(recordType)) {
      throw new AuditRecordError(
        `recordUpdated(message, recordType, before, after): recordType ${quotedForError(recordType)} is refused: ${RESOURCE_TYPE_RULE}.`,
      );
    }
    const oldState = isPlainObject(before) ? before : {};
    const newState = isPlainObject(after) ? after : {};
    const changed = changedFields(oldState, newState, isDeepStrictEqual);
    const { id: given, ...rest } = extra;
    // Both states usually carry the record's own id: use it when none is given.
    const id = given ?? idOf(newState.id) ?? idOf(oldState.id);
    return this.record({
      action: `${recordType}.update`,
      ...rest,
      target: rest.target ?? { type: recordType, ...(id === undefined ? {} : { id }) },
      message,
      before: changed.before,
      after: changed.after,
    });
  }

  /**
   * One page of events, newest first.
   * @throws AuditQueryError for an unknown filter, a limit outside 1..1000, a malformed cursor or date.
   */
  async query(filter: AuditQuery = {}): Promise<AuditQueryResult> {
    const query = parseAuditQuery(filter);
    // With pseudonyms on, the trail holds no raw id: the app asks by the id it knows.
    if (query.actorId !== undefined) query.actorId = this.pseudonymOf(query.actorId);
    return this.store.query(query);
  }

  /**
   * The actor id as the trail records it: its pseudonym when the `privacy.pseudonymize` option
   * covers `actor.id`, else the id itself. A pseudonym given is returned as it is.
   *
   * @example
   * ```ts
   * const recordedAs = audit.pseudonymOf('42'); // 'hmac:…' with pseudonyms on
   * ```
   */
  pseudonymOf(actorId: string): string {
    return this.options.privacy?.pseudonymOf(actorId, 'actor.id') ?? actorId;
  }

  /**
   * The whole timeline of one resource, oldest first. Unbounded: for code that knows the record
   * is small (tests, scripts). Readers of untrusted records page with {@link historyPage}.
   */
  async history(resourceType: string, resourceId: string | number): Promise<AuditEvent[]> {
    return this.store.history(resourceType, resourceIdOf('history', resourceType, resourceId));
  }

  /**
   * One page of the timeline of one resource, newest first, like `query()`: at most `limit`
   * events (default 50, at most 1000); pass `nextCursor` back as `cursor` for older ones.
   * `tenant` keeps the page to that tenant's events.
   * @throws AuditQueryError for a limit outside 1..1000 or a malformed cursor.
   */
  async historyPage(
    resourceType: string,
    resourceId: string | number,
    page: AuditHistoryPageOptions = {},
  ): Promise<AuditQueryResult> {
    const id = resourceIdOf('historyPage', resourceType, resourceId);
    const { limit, cursor, tenant } = page;
    return this.store.query(
      parseAuditQuery({ resourceType, resourceId: id, limit, cursor, tenant }),
    );
  }

  /**
   * One event by id, or `undefined`. With `tenant`, an event of another tenant is `undefined`
   * too, as if it did not exist (the reader's tenant boundary).
   */
  async get(id: string, options: { tenant?: string } = {}): Promise<AuditEvent | undefined> {
    if (typeof id !== 'string' || id.length === 0) {
      throw new AuditRecordError('get(id): id must be a non-empty event id string.');
    }
    const { tenant } = options;
    if (tenant !== undefined && (typeof tenant !== 'string' || tenant.length === 0)) {
      throw new AuditRecordError('get(id, { tenant }): tenant must be a non-empty string.');
    }
    const event = await this.store.get(id);
    if (event !== undefined && tenant !== undefined && event.tenant !== tenant) return undefined;
    return event;
  }

  /**
   * Raises an alarm from application code, on the channels named (configured under the `alarms`
   * option). It is stored in the outbox and delivered in the background like a rule's alarm:
   * retried, deduplicated by `dedupKey`, never lost once this resolves.
   *
   * @returns the message id (dedup key) of each channel's alarm.
   * @throws AlarmInputError for invalid input or when no alarms are configured.
   * @example
   * ```ts
   * await audit.alarm({ title: 'Refund above limit', message: `Refund ${id}: 12,000 EUR`, channels: ['finance'], severity: 'high' });
   * ```
   */
  async alarm(input: ManualAlarmInput): Promise<string[]> {
    const entries = this.alarms.manualEntries(input);
    await this.pipeline.raiseAlarm(entries);
    return entries.map((entry) => entry.dedupKey);
  }

  /**
   * Alarms in the outbox, newest first: pending, delivered or dead (`{ status: 'dead' }` lists
   * what was given up on, with the last error).
   * @throws AuditConfigurationError when the store keeps no alarm outbox.
   */
  async listAlarms(query: AlarmListQuery = {}): Promise<StoredAlarm[]> {
    return requireAlarmOutbox(this.store, 'listAlarms()').list(query);
  }

  /**
   * Every delivery attempt recorded (when, channel, result, status, error), newest first.
   * @throws AuditConfigurationError when the store keeps no alarm outbox.
   */
  async listAlarmAttempts(query: AlarmAttemptQuery = {}): Promise<AlarmAttempt[]> {
    return requireAlarmOutbox(this.store, 'listAlarmAttempts()').listAttempts(query);
  }

  /** Write-path counters: committed, failed, pending, last error. */
  stats(): AuditWriterStats {
    return this.pipeline.stats();
  }

  /**
   * Health of the write path: `up`, `degraded` (store failing, events spooled or queued for
   * retry) or `down` (store failing, nowhere to put events), with queue depth, spool size, last
   * error and drop counts. `condition` is `audit.pipeline_failure` whenever it is not `up`.
   */
  health(): AuditHealth {
    const health = this.pipeline.health();
    const last = this.latestVerification;
    if (last === undefined) return health;
    const { intact, verifiedTo, verifiedAt } = last;
    return {
      ...health,
      integrity: { intact, verifiedTo, verifiedAt, ...(last.break && { break: last.break }) },
    };
  }

  /**
   * Checks the store's hash chain (the same check as `nestjs-audit verify`): every event exactly
   * as chained, none removed, inserted or moved. Reads the chain in pages; on a large trail, run
   * it from a scheduled job rather than per request. The outcome is kept for {@link health}.
   * @throws ChainRangeError for a `from` / `to` outside the chain.
   * @throws AuditConfigurationError when the store keeps no hash chain (the in-memory store).
   * @throws the store's error when it cannot be read.
   * @example
   * ```ts
   * const result = await audit.verify();
   * if (!result.intact) logger.error(`audit trail tampered with: ${result.break?.message}`);
   * ```
   */
  async verify(options: VerifyChainOptions = {}): Promise<ChainVerification> {
    const source = chainSourceOf(this.store);
    if (source === undefined) {
      throw new AuditConfigurationError(
        `AuditService.verify(): the ${this.store.engine} store keeps no hash chain. Use the SQLite store (the default) or PostgresAuditStore to get a verifiable trail.`,
      );
    }
    const result = await verifyChain(source, options);
    this.latestVerification = result;
    return result;
  }

  /**
   * The outcome of the latest {@link verify} made through this service (in this process), or
   * `undefined` when none was made yet. The audit API (`GET <path>/integrity`) and the viewer's
   * banner report it; it is not re-checked when read, so look at its `verifiedAt`.
   */
  lastVerification(): ChainVerification | undefined {
    return this.latestVerification;
  }

  private draftOf(input: AuditRecordInput): AuditEventDraft {
    checkRecordInput(input);
    return draftOfRecord(input, originOf(this.contexts.current(), this.options));
  }
}

/** Paging of {@link AuditService.historyPage}. */
export interface AuditHistoryPageOptions {
  /**
   * Page size, 1..1000.
   * @default 50
   */
  limit?: number;
  /** `nextCursor` of the previous page, to continue with older events. */
  cursor?: string;
  /** Only events of this tenant (the reader's), when the app is multi-tenant. */
  tenant?: string;
}

function resourceIdOf(method: string, resourceType: unknown, resourceId: string | number): string {
  if (typeof resourceType !== 'string' || resourceType.length === 0) {
    throw new AuditRecordError(
      `${method}(resourceType, resourceId): resourceType must be a non-empty string such as "user".`,
    );
  }
  if (!isResourceTypeName(resourceType)) {
    throw new AuditRecordError(
      `${method}(resourceType, resourceId): resourceType ${quotedForError(resourceType)} is refused: ${RESOURCE_TYPE_RULE}.`,
    );
  }
  const id = typeof resourceId === 'number' ? String(resourceId) : resourceId;
  if (typeof id !== 'string' || id.length === 0) {
    throw new AuditRecordError(
      `${method}(resourceType, resourceId): resourceId must be a non-empty string or a number.`,
    );
  }
  return id;
}
