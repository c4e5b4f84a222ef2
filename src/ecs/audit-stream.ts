import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AUDIT_LOGGER_CONTEXT, AUDIT_RESOLVED_OPTIONS } from '../audit.constants';
import type { ResolvedAuditOptions } from '../audit.options';
import type { AuditEvent } from '../event/audit-event';
import { PinoAuditSink, type AuditParentLogger } from './pino.sink';

/**
 * Decides where ECS lines go and owns the sink: the app's nestjs-pino logger (as a child) when the
 * app uses nestjs-pino and no destination was configured, otherwise the module's own pino.
 */
@Injectable()
export class AuditStream implements OnApplicationBootstrap {
  private sink: PinoAuditSink | undefined;
  private parent: AuditParentLogger | undefined;
  private readonly logger = new Logger(AUDIT_LOGGER_CONTEXT);

  constructor(
    @Inject(AUDIT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Looks for nestjs-pino once the whole app (and so its LoggerModule) is up. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.options.stream.kind !== 'auto' || this.sink) return;
    this.parent = await this.findAppLogger();
  }

  /** Writes the event's ECS line; never throws (the sink counts its own errors). */
  write(event: AuditEvent): void {
    if (this.options.stream.kind === 'off') return;
    this.sink ??= this.createSink();
    this.sink.write(event);
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
      return new PinoAuditSink({ service, destination: stream.destination });
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
