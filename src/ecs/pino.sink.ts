import { EventEmitter } from 'node:events';
import { resolve as resolvePath } from 'node:path';
import pino from 'pino';
import type { AuditEvent, AuditLevel } from '../event/audit-event';
import {
  AUDIT_LOGGER_NAME,
  formatEcs,
  type EcsDocument,
  type EcsServiceInfo,
} from './ecs.formatter';

/** Default bound of the in-memory buffer of a file destination: 16 MiB. */
export const DEFAULT_MAX_BUFFER_BYTES = 16 * 1024 * 1024;

/** Anything with a `write(line)` method: a pino `DestinationStream`, a Node stream, a test double. */
export interface AuditLineDestination {
  /** Receives one complete line, newline included. */
  write(line: string): unknown;
}

/** One log method of a pino logger, as the sink calls it: merge object, then message. */
export type AuditLogMethod = (obj: object, msg?: string) => void;

/**
 * The part of a pino `Logger` the sink uses. Declared structurally so that the logger of any
 * pino copy in the application (for instance the one nestjs-pino resolves) fits.
 */
export interface AuditParentLogger {
  /** Current level name; `silent` is honoured, any other level is bypassed (see the sink). */
  readonly level?: string;
  /** Creates the `audit` child logger. */
  child(bindings: Record<string, unknown>, options?: { level?: string }): AuditParentLogger;
  /** Flushes the logger's destination, when it buffers. */
  flush?(cb?: (err?: Error) => void): void;
  /** Level method. */
  trace: AuditLogMethod;
  /** Level method. */
  debug: AuditLogMethod;
  /** Level method. */
  info: AuditLogMethod;
  /** Level method. */
  warn: AuditLogMethod;
  /** Level method. */
  error: AuditLogMethod;
  /** Level method. */
  fatal: AuditLogMethod;
}

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
   *   it has one.
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
   * @default undefined (the sink writes to `destination` itself)
   */
  parent?: AuditParentLogger;
  /**
   * Bound, in bytes, of the lines a file destination holds in memory while the disk catches
   * up. Past it, new lines are dropped (counted in `dropped`, and one process warning is
   * emitted) rather than growing the heap or blocking requests. A single line longer than the
   * bound is always dropped. Only applies to a file path destination.
   * @default 16777216 (16 MiB)
   */
  maxBufferBytes?: number;
}

/** What every way of writing a line provides to the sink. */
interface LineTarget {
  write(doc: EcsDocument): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** How targets report back: errors and drops are counted by the sink, never thrown. */
interface TargetReport {
  error(err: unknown): void;
  drop(): void;
}

type PinoDestination = ReturnType<typeof pino.destination>;

/**
 * Writes one ECS JSON line per audit event (see `formatEcs`).
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
 * `write()` never throws: failures are counted in `errors` (last one in `lastError`), lines
 * that did not fit the buffer in `dropped`.
 *
 * @example
 * ```ts
 * const sink = new PinoAuditSink({ service: { name: 'billing-api' }, destination: 'logs/audit.log' });
 * sink.write(event);
 * await sink.close(); // on shutdown
 * ```
 */
export class PinoAuditSink {
  private readonly service: EcsServiceInfo;
  private readonly target: LineTarget;
  private errorCount = 0;
  private dropCount = 0;
  private latestError: Error | undefined;
  private dropWarned = false;
  private closing: Promise<void> | undefined;

  /**
   * @throws Error when an option is invalid (the message says which and how to fix it).
   */
  constructor(options: PinoAuditSinkOptions) {
    const { service } = options;
    if (!service || typeof service.name !== 'string' || service.name.length === 0) {
      throw new Error(
        'PinoAuditSink: options.service.name must be a non-empty string (it names the ' +
          "`service.name` and `event.dataset` fields), e.g. { service: { name: 'billing-api' } }.",
      );
    }
    const maxBufferBytes = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
    if (!Number.isSafeInteger(maxBufferBytes) || maxBufferBytes <= 0) {
      throw new Error(
        `PinoAuditSink: options.maxBufferBytes must be a positive integer number of bytes, got ` +
          `${String(options.maxBufferBytes)}; omit it for the default of 16 MiB.`,
      );
    }
    this.service = { ...service };
    const report: TargetReport = {
      error: (err) => this.recordError(err),
      drop: () => this.recordDrop(maxBufferBytes),
    };
    this.target = options.parent
      ? new ParentTarget(options.parent, report)
      : createDestinationTarget(options.destination ?? 'stdout', maxBufferBytes, report);
  }

  /** Number of failures (destination errors, unserialisable events, writes after close). */
  get errors(): number {
    return this.errorCount;
  }

  /** Number of lines not written because the buffer was full. */
  get dropped(): number {
    return this.dropCount;
  }

  /** The most recent failure, for health checks and diagnostics. */
  get lastError(): Error | undefined {
    return this.latestError;
  }

  /**
   * Formats the event and hands its line to the destination. Never throws; the line's
   * `log.level` is the event's `level`.
   */
  write(event: AuditEvent): void {
    if (this.closing) {
      this.recordError(
        new Error(
          'PinoAuditSink.write() was called after close(); the event was not written. ' +
            'Stop producing events before closing the sink.',
        ),
      );
      return;
    }
    try {
      this.target.write(formatEcs(event, this.service));
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

  private recordError(err: unknown): void {
    // pino's own error filter on its destinations re-emits the first error, so the same
    // object may arrive twice.
    if (err === this.latestError) return;
    this.errorCount += 1;
    this.latestError = err instanceof Error ? err : new Error(String(err));
  }

  private recordDrop(maxBufferBytes: number): void {
    this.dropCount += 1;
    if (this.dropWarned) return;
    this.dropWarned = true;
    process.emitWarning(
      `nestjs-audit: the ECS audit file cannot keep up and its buffer is full ` +
        `(maxBufferBytes=${maxBufferBytes}); audit lines are being dropped and counted in ` +
        'PinoAuditSink.dropped. Check the disk, or raise maxBufferBytes.',
      { code: 'NESTJS_AUDIT_ECS_DROPPED' },
    );
  }
}

function createDestinationTarget(
  destination: string | AuditLineDestination,
  maxBufferBytes: number,
  report: TargetReport,
): LineTarget {
  if (destination === 'stdout' || destination === 'stderr') {
    // Synchronous like pino's default destination: nothing is buffered, so nothing is lost on
    // exit and no memory grows; the sink never owns (closes) the process stream.
    const fd = destination === 'stdout' ? 1 : 2;
    return new SonicTarget(pino.destination({ dest: fd, sync: true }), false, true, report);
  }
  if (typeof destination === 'string') {
    const stream = pino.destination({
      // Resolved so that a numeric file name is not taken for a file descriptor.
      dest: resolvePath(destination),
      sync: false,
      mkdir: true,
      // Write as soon as the previous write completes: lines never wait for a fill level, and
      // the lines arriving during a write are batched into the next one.
      minLength: 0,
      maxLength: maxBufferBytes,
    });
    return new SonicTarget(stream, true, false, report);
  }
  if (typeof destination?.write !== 'function') {
    throw new Error(
      "PinoAuditSink: options.destination must be 'stdout', 'stderr', a file path, or an " +
        'object with a write(line) method (such as pino.destination()).',
    );
  }
  return new CallerTarget(destination, report);
}

function serialize(doc: EcsDocument): string {
  // JSON.stringify escapes every control character (newlines included) and lone surrogates,
  // so a line is always one valid JSON document.
  return `${JSON.stringify(doc)}\n`;
}

/** A sonic-boom created by the sink: a file it owns, or stdout/stderr it must not close. */
class SonicTarget implements LineTarget {
  private pending = false;
  private stalled = false;
  private opened: boolean;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly stream: PinoDestination,
    private readonly owned: boolean,
    private readonly sync: boolean,
    private readonly report: TargetReport,
  ) {
    this.opened = sync;
    stream.on('ready', () => {
      this.opened = true;
    });
    stream.on('drop', () => report.drop());
    // Async sonic-boom emits 'drain' once everything it accepted has been written (with
    // minLength 0); that is the only public signal that a flush is complete.
    stream.on('drain', () => {
      this.pending = false;
      this.stalled = false;
      this.release();
    });
    stream.on('error', (err: unknown) => {
      // The failed chunk stays buffered and is retried by the next write; until then a flush
      // cannot complete, so waiting callers are released and the failure is counted instead.
      this.stalled = true;
      report.error(err);
      this.release();
    });
  }

  write(doc: EcsDocument): void {
    if (!this.sync) this.pending = true;
    this.stream.write(serialize(doc));
  }

  flush(): Promise<void> {
    if (!this.pending || this.stalled) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.flush();
    // A file that never opened has nothing to close (and sonic-boom would wait for it forever).
    if (!this.owned || (!this.opened && this.stalled)) return;
    await new Promise<void>((resolve) => {
      this.stream.once('close', resolve);
      this.stream.once('error', () => resolve());
      this.stream.end();
    });
  }

  private release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** A destination object the caller passed in and keeps owning. */
class CallerTarget implements LineTarget {
  private readonly onError: ((err: unknown) => void) | undefined;

  constructor(
    private readonly destination: AuditLineDestination,
    private readonly report: TargetReport,
  ) {
    // An 'error' event without a listener would crash the process.
    if (destination instanceof EventEmitter) {
      this.onError = (err: unknown) => report.error(err);
      destination.on('error', this.onError);
    }
  }

  write(doc: EcsDocument): void {
    this.destination.write(serialize(doc));
  }

  flush(): Promise<void> {
    const { flush } = this.destination as { flush?: unknown };
    if (typeof flush !== 'function') return Promise.resolve();
    return new Promise((resolve) => {
      (flush as (cb: (err?: unknown) => void) => void).call(this.destination, (err) => {
        if (err) this.report.error(err);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.onError && this.destination instanceof EventEmitter) {
      this.destination.off('error', this.onError);
    }
  }
}

/** The application's pino logger, through an `audit` child. */
class ParentTarget implements LineTarget {
  private readonly logger: AuditParentLogger;

  constructor(
    parent: AuditParentLogger,
    private readonly report: TargetReport,
  ) {
    const bindings = { 'log.logger': AUDIT_LOGGER_NAME };
    if (parent.level === 'silent') {
      this.logger = parent.child(bindings);
      return;
    }
    try {
      this.logger = parent.child(bindings, { level: 'trace' });
    } catch {
      // A parent with only custom levels has no 'trace'; its own level then applies.
      this.logger = parent.child(bindings);
    }
  }

  write(doc: EcsDocument): void {
    // The application's format writes the level and message under its own keys, and the
    // child's bindings already carry log.logger.
    const { 'log.level': level, message, 'log.logger': _logger, ...fields } = doc;
    const log = levelMethod(this.logger, level);
    log.call(this.logger, fields, message);
  }

  flush(): Promise<void> {
    const { logger } = this;
    if (typeof logger.flush !== 'function') return Promise.resolve();
    return new Promise((resolve) => {
      logger.flush?.((err) => {
        if (err) this.report.error(err);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    // The application owns its logger and destination; closing them is its shutdown's job.
    return this.flush();
  }
}

function levelMethod(logger: AuditParentLogger, level: AuditLevel): AuditLogMethod {
  const method = logger[level] as AuditLogMethod | undefined;
  if (typeof method === 'function') return method;
  if (typeof logger.info === 'function') return logger.info;
  throw new Error(
    `PinoAuditSink: the parent logger has no '${level}' or 'info' method; pass a pino logger ` +
      '(e.g. PinoLogger.root from nestjs-pino) as options.parent.',
  );
}
