import { HttpException, ServiceUnavailableException } from '@nestjs/common';
import type { ResolvedAuditOptions } from '../../audit.options';
import type { AuditRecordInput } from '../../audit-record-input';
import type { AuditService } from '../../audit.service';
import type { AuditContextStorage } from '../../capture/audit-context';
import type { AuditHttpRequest } from '../../capture/http-adapter';
import { requestIdOf, requestSource } from '../../capture/request-facts';
import { AuditLogger } from '../../common/audit-logger';
import { messageOf } from '../../common/message-of';
import type { AuditSource } from '../../event/audit-event';
import { AuditCommitError } from '../../pipeline/audit-writer.contract';
import { AUDIT_READ_ACTION, recordAuditRead } from '../audit-read';

/** What an `audit.read` event says about one API call. */
export interface ReadRecord {
  endpoint: 'events' | 'event' | 'history' | 'export' | 'integrity';
  outcome: 'success' | 'failure';
  filter: unknown;
  results?: unknown;
  error?: unknown;
  message: string;
  target?: AuditRecordInput['target'];
  format?: string;
}

/** Facts about the request taken when it arrives, while its socket is still open. */
export interface RequestNote {
  requestId: string;
  source: AuditSource;
  /** The reader's tenant once `api.tenant` resolved it: the read is recorded under it. */
  tenant?: string;
}

/**
 * Records every call of the audit API as an `audit.read` event, with the facts of its request
 * noted on arrival. Held by {@link AuditApiService}, one per registration.
 * @internal
 */
export class AuditApiReadRecorder {
  private readonly logger = new AuditLogger();
  private readonly notes = new WeakMap<object, RequestNote>();

  constructor(
    private readonly audit: AuditService,
    private readonly contexts: AuditContextStorage,
    private readonly options: ResolvedAuditOptions,
  ) {}

  /**
   * Records a successful read. The data is released only once that record is committed: when
   * the store cannot commit it (policy `fail`), the caller gets 503, never an unaudited read.
   */
  async succeeded(req: AuditHttpRequest, read: Omit<ReadRecord, 'outcome'>): Promise<void> {
    try {
      await this.record(req, { ...read, outcome: 'success' });
    } catch (error) {
      if (error instanceof AuditCommitError) {
        throw new ServiceUnavailableException({
          statusCode: 503,
          error: 'Service Unavailable',
          code: 'AUDIT_UNAVAILABLE',
          message:
            'The audit trail could not record this read, so its result is not returned. Retry later; if it persists, the audit store is down.',
          requestId: this.noteOf(req).requestId,
        });
      }
      this.logger.error(
        `nestjs-audit: could not record ${AUDIT_READ_ACTION} for request ${this.noteOf(req).requestId}: ${messageOf(error)}`,
      );
    }
  }

  /** Records a failed read and returns the error to throw (a store error stays a 500). */
  async failed(
    req: AuditHttpRequest,
    read: Omit<ReadRecord, 'outcome' | 'error'>,
    error: unknown,
  ): Promise<unknown> {
    if (!(error instanceof HttpException)) {
      this.logger.error(
        `nestjs-audit: reading the audit trail failed (request ${this.noteOf(req).requestId}): ${messageOf(error)}`,
      );
    }
    await this.recordQuietly(req, { ...read, outcome: 'failure', error });
    return error;
  }

  /** Records a read, logging (never throwing) when it cannot. */
  async recordQuietly(req: AuditHttpRequest, read: ReadRecord): Promise<void> {
    try {
      await this.record(req, read);
    } catch (error) {
      this.logger.error(
        `nestjs-audit: could not record ${AUDIT_READ_ACTION} (${read.outcome}) for request ${this.noteOf(req).requestId}: ${messageOf(error)}`,
      );
    }
  }

  private async record(req: AuditHttpRequest, read: ReadRecord): Promise<void> {
    const note = this.noteOf(req);
    // `via` tells API reads apart from viewer page views (labelled `via: 'viewer'`).
    const labels: Record<string, string> = { via: 'api', endpoint: read.endpoint };
    if (read.format !== undefined) labels.format = read.format;
    // The source noted on arrival: an export is recorded when its stream ends, and by then the
    // client may be gone with its socket's address.
    const input: Omit<AuditRecordInput, 'action'> = {
      outcome: read.outcome,
      filter: read.filter,
      message: read.message,
      labels,
      source: note.source,
    };
    if (read.results !== undefined) input.results = read.results;
    if (read.error !== undefined) input.error = read.error;
    if (read.target !== undefined) input.target = read.target;
    if (note.tenant !== undefined) input.tenant = note.tenant;
    await recordAuditRead(this.audit, this.contexts, req, note.requestId, input);
  }

  /** What was noted about the request when it arrived (noted now if it was not). */
  noteOf(req: AuditHttpRequest): RequestNote {
    let note = this.notes.get(req);
    if (!note) {
      note = {
        requestId: requestIdOf(req, this.options),
        source: requestSource(req, this.options.trustProxy),
      };
      this.notes.set(req, note);
    }
    return note;
  }
}
