import { DEFAULT_FILE_MODE } from '../common/file-mode';
import type { AuditCheckpoint } from '../integrity/checkpoint';
import { formatCheckpoint } from './checkpoint.formatter';
import type { AuditEvent } from '../event/audit-event';
import { formatEcs, type EcsServiceInfo } from './ecs.formatter';
import { formatPipelineFailure, type AuditPipelineFailure } from './pipeline-failure.formatter';
import type { SinkLine } from './ecs-line';
import { ParentTarget, type AuditParentLogger } from './parent-target';
import {
  createDestinationTarget,
  type AuditLineDestination,
  type LineTarget,
  type TargetReport,
} from './sink-targets';
import { toError } from '../common/message-of';
import { AuditStateError } from '../common/audit-state.error';
import { AuditConfigurationError } from '../common/audit-configuration.error';

export type { AuditLogMethod, AuditParentLogger } from './parent-target';
export type { AuditLineDestination } from './sink-targets';

/** Default bound of the in-memory buffer of a file destination: 16 MiB. */
export const DEFAULT_MAX_BUFFER_BYTES = 16 * 1024 * 1024;

/** Options of {@link PinoAuditSink}. */
export interface PinoAuditSinkOptions {
  /** The service written to `service.*`; `event.dataset` becomes `<name>.audit`. */
  service: EcsServiceInfo;
  /**
   * Where the sink writes its own lines when no `parent` is given:
   * - `'stdout'` / `'stderr'`: synchronous writes to the process stream, never closed by the sink;
   * - any other string: a file path (relative to the working directory; parent directories are
   *   created), appended to asynchronously through a bounded buffer (see `maxBufferBytes`).
   *   Use `./stdout` for a file literally named `stdout`;
   * - an object with `write(line)` (a `pino.destination()`, a Node stream...): receives each
   *   line. The caller owns it: the sink never ends it, and `flush()` calls its `flush(cb)` when
   *   it has one. When it is an event emitter and `write()` returns `false`, `needsDrain` is
   *   true until it emits `'drain'` (or `'close'`).
   *
   * Ignored when `parent` is given.
   * @default 'stdout'
   */
  destination?: string | AuditLineDestination;
  /**
   * The application's pino logger (e.g. nestjs-pino's `PinoLogger.root`). When given, every
   * line goes through `parent.child({ 'log.logger': 'audit' })`, sharing the application's
   * destination, transport and format: the application's pino options then decide the
   * top-level layout (level, time and message keys), and the ECS fields are the merge object.
   * The merge object keeps `@timestamp` (the event's time) and `ecs.version`; under an
   * ECS-formatted parent (`@elastic/ecs-pino-format`) those keys then appear twice in a line,
   * and JSON readers (Filebeat included) keep the last one, which is the sink's.
   *
   * The application owns that destination and its buffering: `needsDrain` follows its
   * `writableNeedDrain` (Node streams, pino transports); pino's default destination (stdout)
   * writes synchronously and never needs to drain.
   * @default undefined (the sink writes to `destination` itself)
   */
  parent?: AuditParentLogger;
  /**
   * Bound, in bytes, of the lines a file destination holds in memory while the disk catches
   * up. Lines are never dropped because the disk is slow: once the buffer holds this much,
   * `needsDrain` is true and `waitForDrain()` resolves when it is below the bound again; the
   * audit pipeline waits for it before it settles the next commit, so requests slow down to the
   * disk's pace instead of the heap growing. A writer that does not wait may overshoot the bound
   * (the audit pipeline by at most one commit's lines). Only a destination that fails (disk
   * full, file not writable) with a full buffer drops new lines: they are counted in `dropped`
   * and one process warning (`NESTJS_AUDIT_ECS_DROPPED`) is emitted. Only applies to a file
   * path destination.
   * @default 16777216 (16 MiB)
   */
  maxBufferBytes?: number;
  /**
   * Permissions of a file path destination when the sink creates it (the process umask may
   * remove bits). Only applies to a file path destination.
   * @default 0o600
   */
  fileMode?: number;
}

/**
 * Writes one ECS JSON line per audit event (see `formatEcs`), and the `audit.pipeline_failure`
 * line that stands for events the write path lost (see `formatPipelineFailure`).
 *
 * Own mode (no `parent`): each line is exactly the ECS document, keys in ECS-logging order
 * (`@timestamp`, `log.level`, `message`, `ecs.version`, `log.logger`, then the nested
 * objects). pino always writes its level key first and its message key last, so no pino
 * option set can produce that order; the sink therefore serialises the document once with
 * `JSON.stringify` and writes the line to a `pino.destination()` (sonic-boom) itself, which
 * keeps pino's fast writer and its flush-on-exit for files.
 *
 * Parent mode: lines go through a child of the application's pino logger, so they share its
 * destination and format. The child logs at the lowest level so that the application's log
 * level does not filter audit lines; a parent at `silent` stays silent.
 *
 * Back-pressure: `needsDrain` says the destination holds as much as it should; a writer that
 * must not lose lines awaits `waitForDrain()` before writing more (see `maxBufferBytes`).
 *
 * `write()` never throws: failures are counted in `errors` (last one in `lastError`), lines
 * a failing destination could not take in `dropped`.
 *
 * @example
 * ```ts
 * const sink = new PinoAuditSink({ service: { name: 'billing-api' }, destination: 'logs/audit.log' });
 * for (const event of events) {
 *   sink.write(event);
 *   if (sink.needsDrain) await sink.waitForDrain();
 * }
 * await sink.close(); // on shutdown
 * ```
 */
export class PinoAuditSink {
  private readonly service: EcsServiceInfo;
  private readonly target: LineTarget;
  private readonly maxBufferBytes: number;
  private errorCount = 0;
  private dropCount = 0;
  private latestError: Error | undefined;
  private dropWarned = false;
  private closing: Promise<void> | undefined;

  /**
   * @throws AuditConfigurationError when an option is invalid (the message says which and how to
   *   fix it).
   */
  constructor(options: PinoAuditSinkOptions) {
    const { service } = options;
    if (!service || typeof service.name !== 'string' || service.name.length === 0) {
      throw new AuditConfigurationError(
        'PinoAuditSink: options.service.name must be a non-empty string (it names the ' +
          "`service.name` and `event.dataset` fields), e.g. { service: { name: 'billing-api' } }.",
      );
    }
    const maxBufferBytes = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
    if (!Number.isSafeInteger(maxBufferBytes) || maxBufferBytes <= 0) {
      throw new AuditConfigurationError(
        `PinoAuditSink: options.maxBufferBytes must be a positive integer number of bytes, got ` +
          `${String(options.maxBufferBytes)}; omit it for the default of 16 MiB.`,
      );
    }
    this.service = { ...service };
    this.maxBufferBytes = maxBufferBytes;
    const report: TargetReport = {
      error: (err) => this.recordError(err),
      drop: (lines) => this.recordDrop(lines),
    };
    this.target = options.parent
      ? new ParentTarget(options.parent, report)
      : createDestinationTarget(options.destination ?? 'stdout', maxBufferBytes, report, {
          fileMode: options.fileMode ?? DEFAULT_FILE_MODE,
        });
  }

  /** Number of failures (destination errors, unserialisable events, writes after close). */
  get errors(): number {
    return this.errorCount;
  }

  /** Number of lines not written because the destination failed with its buffer full. */
  get dropped(): number {
    return this.dropCount;
  }

  /** The most recent failure, for health checks and diagnostics. */
  get lastError(): Error | undefined {
    return this.latestError;
  }

  /**
   * True while the destination holds as much as it should take (a file: `maxBufferBytes`
   * of unwritten lines); a writer that must not lose lines awaits `waitForDrain()` first.
   */
  get needsDrain(): boolean {
    return !this.closing && this.target.needsDrain;
  }

  /** Bytes of lines a file destination holds that are not written yet (0 for other modes). */
  get pendingBytes(): number {
    return this.target.pendingBytes;
  }

  /**
   * Resolves once `needsDrain` is false: at once when it already is, otherwise when the
   * destination has written enough, has failed (counted in `errors`), or the sink is closed.
   * Never rejects.
   */
  waitForDrain(): Promise<void> {
    return this.needsDrain ? this.target.waitForDrain() : Promise.resolve();
  }

  /**
   * Formats the event and hands its line to the destination. Never throws; the line's
   * `log.level` is the event's `level`.
   */
  write(event: AuditEvent): void {
    this.writeMany([event]);
  }

  /**
   * Writes the lines of several events, in order; a file destination receives them in one
   * write. Never throws: an event that cannot be formatted is counted and skipped.
   */
  writeMany(events: readonly AuditEvent[]): void {
    if (this.refuseAfterClose()) return;
    const lines: SinkLine[] = [];
    for (const event of events) {
      try {
        lines.push({ doc: formatEcs(event, this.service), event });
      } catch (err) {
        this.recordError(err);
      }
    }
    this.target.write(lines);
  }

  /**
   * Writes the `audit.pipeline_failure` line naming events the write path lost (ids and
   * actions, never payloads). Never throws.
   */
  writeFailure(failure: AuditPipelineFailure): void {
    if (this.refuseAfterClose()) return;
    try {
      this.target.write([{ doc: formatPipelineFailure(failure, this.service) }]);
    } catch (err) {
      this.recordError(err);
    }
  }

  /** Writes the `audit.checkpoint` line of the chain's head. Never throws. */
  writeCheckpoint(checkpoint: AuditCheckpoint): void {
    if (this.refuseAfterClose()) return;
    try {
      this.target.write([{ doc: formatCheckpoint(checkpoint, this.service) }]);
    } catch (err) {
      this.recordError(err);
    }
  }

  /**
   * Resolves once every line accepted so far has been written by the destination (for a
   * parent logger or a caller's destination: once its own `flush` reports done). Never
   * rejects: if the destination fails meanwhile, it resolves and the failure is in `errors`.
   */
  async flush(): Promise<void> {
    if (this.closing) return this.closing;
    try {
      await this.target.flush();
    } catch (err) {
      this.recordError(err);
    }
  }

  /**
   * Flushes, then closes a file the sink opened. Never closes `stdout`/`stderr`, a caller's
   * destination or the application's parent logger. Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.closing ??= this.target.close().catch((err: unknown) => this.recordError(err));
    return this.closing;
  }

  private refuseAfterClose(): boolean {
    if (!this.closing) return false;
    this.recordError(
      new AuditStateError(
        'PinoAuditSink.write() was called after close(); the event was not written. ' +
          'Stop producing events before closing the sink.',
      ),
    );
    return true;
  }

  private recordError(err: unknown): void {
    // pino's own error filter on its destinations re-emits the first error, so the same
    // object may arrive twice.
    if (err === this.latestError) return;
    this.errorCount += 1;
    this.latestError = toError(err);
  }

  private recordDrop(lines: number): void {
    this.dropCount += lines;
    if (this.dropWarned) return;
    this.dropWarned = true;
    process.emitWarning(
      `nestjs-audit: the ECS audit file fails (${this.latestError?.message ?? 'write error'}) ` +
        `and already holds maxBufferBytes=${this.maxBufferBytes} of lines it could not write; ` +
        'new audit lines are dropped and counted in PinoAuditSink.dropped until it writes ' +
        'again. Check the disk and the file path.',
      { code: 'NESTJS_AUDIT_ECS_DROPPED' },
    );
  }
}
