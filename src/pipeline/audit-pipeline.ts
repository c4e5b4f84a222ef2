import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { AUDIT_LOGGER_CONTEXT, AUDIT_RESOLVED_OPTIONS } from '../audit.constants';
import type { ResolvedAuditOptions } from '../audit.options';
import { AuditStream } from '../ecs/audit-stream';
import type { AuditEvent } from '../event/audit-event';
import { buildAuditEvent, type AuditEventDraft } from '../event/build-event';
import { Redactor } from '../event/redact';
import { AuditStore } from '../stores/audit-store';
import { AuditWriter, type AuditWriterStats } from './audit-writer';

/** Thrown by `record()` once the application has shut down. */
export class AuditShutdownError extends Error {
  override readonly name = 'AuditShutdownError';
}

/**
 * The one write path: draft -> event (normalise, diff, redact, cap) -> ECS line -> group commit.
 * Both the interceptor and `AuditService.record()` go through it; nothing else writes to a store.
 */
@Injectable()
export class AuditPipeline implements OnApplicationShutdown {
  private readonly redactor: Redactor;
  private readonly writer: AuditWriter;
  private readonly logger = new Logger(AUDIT_LOGGER_CONTEXT);
  private closed = false;

  constructor(
    @Inject(AUDIT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditOptions,
    private readonly store: AuditStore,
    private readonly stream: AuditStream,
  ) {
    this.redactor = new Redactor(options.redact);
    this.writer = new AuditWriter(store, options.maxBatch);
  }

  /** Builds the event from a draft (pure, never touches I/O). */
  build(draft: AuditEventDraft): AuditEvent {
    return buildAuditEvent(draft, {
      redactor: this.redactor,
      maxValueBytes: this.options.maxValueBytes,
      maxEventBytes: this.options.maxEventBytes,
    });
  }

  /**
   * Writes the event's ECS line and commits it to the store.
   * @returns once the store transaction holding the event has committed.
   */
  async commit(event: AuditEvent): Promise<void> {
    if (this.closed) {
      throw new AuditShutdownError(
        `nestjs-audit: cannot record "${event.action}" (event ${event.id}): the application has shut down. Record events before app.close().`,
      );
    }
    this.stream.write(event);
    await this.writer.write(event);
  }

  /** Builds and commits in one step. */
  async submit(draft: AuditEventDraft): Promise<AuditEvent> {
    const event = this.build(draft);
    await this.commit(event);
    return event;
  }

  /** Write-path counters. */
  stats(): AuditWriterStats {
    return this.writer.stats();
  }

  /** Flushes every queued event, then closes the stream and the store. */
  async onApplicationShutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.drain();
    try {
      await this.stream.close();
    } finally {
      await this.store.close();
    }
    this.logger.debug?.('audit store closed');
  }
}
