import { EventEmitter } from 'node:events';
import pino from 'pino';
import type { AuditLevel } from '../event/audit-event';
import { AUDIT_LOGGER_NAME } from './ecs.formatter';
import { escapeLineSeparators } from '../common/control-characters';
import type { SinkLine } from './ecs-line';
import { Waiters, type LineTarget, type TargetReport } from './sink-targets';
import { AuditConfigurationError } from '../common/audit-configuration.error';

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

/**
 * The application's pino logger, through an `audit` child. The application owns the
 * destination; the target waits when that destination reports `writableNeedDrain` (Node
 * streams, pino transports) until it drains. pino's default destination (synchronous stdout)
 * never buffers.
 */
export class ParentTarget implements LineTarget {
  private readonly logger: AuditParentLogger;
  private readonly destination: EventEmitter | undefined;
  private readonly room = new Waiters();
  private waiting = false;

  constructor(
    parent: AuditParentLogger,
    private readonly report: TargetReport,
  ) {
    const bindings = { 'log.logger': AUDIT_LOGGER_NAME };
    this.logger = childOf(parent, bindings);
    escapeLineSeparatorsOf(this.logger);
    const destination = destinationOf(this.logger);
    this.destination = destination instanceof EventEmitter ? destination : undefined;
  }

  get needsDrain(): boolean {
    return (
      (this.destination as { writableNeedDrain?: unknown } | undefined)?.writableNeedDrain === true
    );
  }

  get pendingBytes(): number {
    return 0;
  }

  write(lines: readonly SinkLine[]): void {
    for (const { doc } of lines) {
      try {
        // The application's format writes the level and message under its own keys, and the
        // child's bindings already carry log.logger.
        const { 'log.level': level, message, 'log.logger': _logger, ...fields } = doc;
        const log = levelMethod(this.logger, level);
        log.call(this.logger, fields, message);
      } catch (err) {
        this.report.error(err);
      }
    }
  }

  waitForDrain(): Promise<void> {
    const destination = this.destination;
    if (!destination || !this.needsDrain) return Promise.resolve();
    if (!this.waiting) {
      this.waiting = true;
      const done = (): void => {
        this.waiting = false;
        destination.off('drain', done);
        destination.off('close', done);
        this.room.release();
      };
      // No 'error' listener: that would hide an error the application has not handled; a
      // stream that fails is destroyed, which emits 'close'.
      destination.on('drain', done);
      destination.on('close', done);
    }
    return this.room.wait();
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

function childOf(parent: AuditParentLogger, bindings: Record<string, unknown>): AuditParentLogger {
  if (parent.level === 'silent') return parent.child(bindings);
  try {
    return parent.child(bindings, { level: 'trace' });
  } catch {
    // A parent with only custom levels has no 'trace'; its own level then applies.
    return parent.child(bindings);
  }
}

/** pino's hooks, under a registered symbol that every copy of pino shares. */
const PINO_HOOKS = Symbol.for('pino.hooks');

interface PinoHooks {
  streamWrite?: (line: string) => string;
}

/**
 * Escapes NEL, U+2028 and U+2029 in the lines of the audit child only. pino writes them raw
 * inside JSON strings (valid JSON, but a Unicode-aware line splitter would break the line there
 * and let a user's text start a line of its own); they can only occur inside strings, so the
 * escaped line parses to the same document. The child gets its own `streamWrite` hook, after
 * the application's if it has one; the application's other lines are left as they are. A
 * logger that is not pino's (no hooks) is left alone.
 */
function escapeLineSeparatorsOf(logger: AuditParentLogger): void {
  const holder = logger as unknown as Record<symbol, PinoHooks | undefined>;
  const hooks = holder[PINO_HOOKS];
  if (hooks === undefined || hooks === null || typeof hooks !== 'object') return;
  const appWrite = hooks.streamWrite;
  holder[PINO_HOOKS] = {
    ...hooks,
    streamWrite: appWrite
      ? (line: string) => escapeLineSeparators(appWrite(line))
      : escapeLineSeparators,
  };
}

/**
 * The destination stream of a pino logger. pino keeps it under a symbol; a logger made by
 * another copy of pino (nestjs-pino may resolve its own) has its own symbol of the same name.
 */
function destinationOf(logger: AuditParentLogger): unknown {
  const own = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  if (own !== undefined) return own;
  for (let o: object | null = logger; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const key = Object.getOwnPropertySymbols(o).find((s) => s.description === 'pino.stream');
    if (key) return (o as Record<symbol, unknown>)[key];
  }
  return undefined;
}

function levelMethod(logger: AuditParentLogger, level: AuditLevel): AuditLogMethod {
  const method = logger[level] as AuditLogMethod | undefined;
  if (typeof method === 'function') return method;
  if (typeof logger.info === 'function') return logger.info;
  throw new AuditConfigurationError(
    `PinoAuditSink: the parent logger has no '${level}' or 'info' method; pass a pino logger ` +
      '(e.g. PinoLogger.root from nestjs-pino) as options.parent.',
  );
}
