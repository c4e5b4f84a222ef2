import { AuditLogger } from '../common/audit-logger';
import type { AuditCheckpoint } from '../integrity/checkpoint';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AUDIT_RESOLVED_OPTIONS } from '../audit.constants';
import type { ResolvedAuditOptions } from '../audit.options';
import type { AuditEvent } from '../event/audit-event';
import { PinoAuditSink, type AuditParentLogger } from './pino.sink';
import type { AuditPipelineFailure } from './pipeline-failure.formatter';

/**
 * Decides where ECS lines go and owns the sink: the app's nestjs-pino logger (as a child) when the
 * app uses nestjs-pino and no destination was configured, otherwise the module's own pino.
 *
 * Only the write path calls it, and only for events that were committed, spooled or queued (or
 * for the failure line of events it lost), so the stream never shows a record the store lacks.
 */
@Injectable()
export class AuditStream implements OnApplicationBootstrap {
  private sink: PinoAuditSink | undefined;
  private parent: AuditParentLogger | undefined;
  private readonly logger = new AuditLogger();

  constructor(
    @Inject(AUDIT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Looks for nestjs-pino once the whole app (and so its LoggerModule) is up. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.options.stream.kind !== 'auto' || this.sink) return;
    this.parent = await this.findAppLogger();
  }

  /** Writes the ECS lines of events that were committed, spooled or queued, in order. */
  writeEvents(events: readonly AuditEvent[]): void {
    if (this.options.stream.kind === 'off' || events.length === 0) return;
    this.sink ??= this.createSink();
    this.sink.writeMany(events);
  }

  /**
   * Resolves once every line handed over so far is written by the destination (see
   * `PinoAuditSink.flush`). Never rejects.
   */
  flush(): Promise<void> {
    return this.sink?.flush() ?? Promise.resolve();
  }

  /** Writes the `audit.checkpoint` line of the chain's head. */
  writeCheckpoint(checkpoint: AuditCheckpoint): void {
    if (this.options.stream.kind === 'off') return;
    this.sink ??= this.createSink();
    this.sink.writeCheckpoint(checkpoint);
  }

  /** Writes the `audit.pipeline_failure` line naming events the write path lost. */
  writeFailure(failure: AuditPipelineFailure): void {
    if (this.options.stream.kind === 'off') return;
    this.sink ??= this.createSink();
    this.sink.writeFailure(failure);
  }

  /**
   * `undefined` while the stream can take more lines (the common case costs no promise);
   * otherwise a promise that resolves once it can (see `PinoAuditSink.waitForDrain`).
   */
  whenWritable(): Promise<void> | undefined {
    const sink = this.sink;
    return sink?.needsDrain ? sink.waitForDrain() : undefined;
  }

  /** Flushes and closes the module's own destination (never the app's logger or stdout). */
  async close(): Promise<void> {
    const sink = this.sink;
    this.sink = undefined;
    await sink?.close();
  }

  private createSink(): PinoAuditSink {
    const stream = this.options.stream;
    const service = { name: this.options.serviceName };
    if (stream.kind === 'destination') {
      return new PinoAuditSink({
        service,
        destination: stream.destination,
        fileMode: this.options.fileMode,
      });
    }
    return this.parent
      ? new PinoAuditSink({ service, parent: this.parent })
      : new PinoAuditSink({ service, destination: 'stdout' });
  }

  private async findAppLogger(): Promise<AuditParentLogger | undefined> {
    let nestjsPino: typeof import('nestjs-pino');
    try {
      nestjsPino = await import('nestjs-pino');
    } catch {
      return undefined;
    }
    try {
      this.moduleRef.get(nestjsPino.Logger, { strict: false });
    } catch {
      return undefined;
    }
    const root: AuditParentLogger | undefined = nestjsPino.PinoLogger.root;
    if (!root) {
      this.logger.warn(
        'nestjs-pino is in use but exposes no root logger (useExisting?); audit lines go to stdout. Set the "stream" option to choose a destination.',
      );
    }
    return root;
  }
}
