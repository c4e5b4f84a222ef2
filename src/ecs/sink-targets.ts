import { EventEmitter } from 'node:events';
import { resolve as resolvePath } from 'node:path';
import pino from 'pino';
import { lineText, type SinkLine } from './ecs-line';
import { AuditConfigurationError } from '../common/audit-configuration.error';

/** Anything with a `write(line)` method: a pino `DestinationStream`, a Node stream, a test double. */
export interface AuditLineDestination {
  /** Receives one complete line, newline included. */
  write(line: string): unknown;
}

/** What every way of writing lines provides to the sink. */
export interface LineTarget {
  /** Writes the lines in order; never throws (failures go to the report). */
  write(lines: readonly SinkLine[]): void;
  /** True while the destination holds as much as it should take: the writer should wait. */
  readonly needsDrain: boolean;
  /** Bytes accepted and not yet written, where the target can know it (else 0). */
  readonly pendingBytes: number;
  /** Resolves once `needsDrain` is false, the destination failed, or it closed. Never rejects. */
  waitForDrain(): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** How targets report back: errors and drops are counted by the sink, never thrown. */
export interface TargetReport {
  error(err: unknown): void;
  /** Lines not written because the destination fails and its buffer is full. */
  drop(lines: number): void;
}

type PinoDestination = ReturnType<typeof pino.destination>;

/** Callers waiting for one condition; released all at once. */
export class Waiters {
  private list: (() => void)[] = [];

  wait(): Promise<void> {
    return new Promise((resolve) => this.list.push(resolve));
  }

  release(): void {
    const list = this.list;
    this.list = [];
    for (const resolve of list) resolve();
  }
}

/** The texts of `lines`, skipping (and reporting) any that cannot be serialised. */
export function serializeEach(lines: readonly SinkLine[], report: TargetReport): string[] {
  const texts: string[] = [];
  for (const line of lines) {
    try {
      texts.push(lineText(line));
    } catch (err) {
      report.error(err);
    }
  }
  return texts;
}

/** Builds the target of an own-mode destination (see `PinoAuditSinkOptions.destination`). */
export function createDestinationTarget(
  destination: string | AuditLineDestination,
  maxBufferBytes: number,
  report: TargetReport,
  file: { fileMode: number },
): LineTarget {
  if (destination === 'stdout' || destination === 'stderr') {
    // Synchronous like pino's default destination: nothing is buffered, so nothing is lost on
    // exit, no memory grows and a full pipe blocks the writer; the sink never closes the stream.
    const fd = destination === 'stdout' ? 1 : 2;
    const stream = pino.destination({ dest: fd, sync: true });
    return new SonicTarget(stream, { owned: false, sync: true, maxBufferBytes }, report);
  }
  if (typeof destination === 'string') {
    const stream = pino.destination({
      // Resolved so that a numeric file name is not taken for a file descriptor.
      dest: resolvePath(destination),
      sync: false,
      mkdir: true,
      mode: file.fileMode,
      // Write as soon as the previous write completes: lines never wait for a fill level, and
      // the lines arriving during a write are batched into the next one. No maxLength: the
      // bound is kept by making the writer wait (needsDrain), not by dropping.
      minLength: 0,
    });
    return new SonicTarget(stream, { owned: true, sync: false, maxBufferBytes }, report);
  }
  if (typeof destination?.write !== 'function') {
    throw new AuditConfigurationError(
      "PinoAuditSink: options.destination must be 'stdout', 'stderr', a file path, or an " +
        'object with a write(line) method (such as pino.destination()).',
    );
  }
  return new CallerTarget(destination, report);
}

/** A sonic-boom created by the sink: a file it owns, or stdout/stderr it must not close. */
class SonicTarget implements LineTarget {
  private pending = 0;
  /** The last write failed: sonic-boom keeps the chunk and retries it on the next write. */
  private stalled = false;
  private opened: boolean;
  private closed = false;
  private readonly flushed = new Waiters();
  private readonly room = new Waiters();
  private readonly owned: boolean;
  private readonly sync: boolean;
  private readonly maxBufferBytes: number;

  constructor(
    private readonly stream: PinoDestination,
    mode: { owned: boolean; sync: boolean; maxBufferBytes: number },
    private readonly report: TargetReport,
  ) {
    ({ owned: this.owned, sync: this.sync, maxBufferBytes: this.maxBufferBytes } = mode);
    this.opened = this.sync;
    stream.on('ready', () => {
      this.opened = true;
    });
    // Async sonic-boom emits 'write' after each completed write and 'drain' once everything it
    // accepted is written (with minLength 0): the only public signals of its buffer level.
    stream.on('write', (n: number) => {
      this.stalled = false;
      this.pending = Math.max(0, this.pending - n);
      if (this.pending < this.maxBufferBytes) this.room.release();
    });
    stream.on('drain', () => {
      this.pending = 0;
      this.flushed.release();
      this.room.release();
    });
    stream.on('error', (err: unknown) => {
      // Until a retry succeeds nothing completes, so waiting callers are released (the failure
      // is counted) rather than blocked on a destination that may never recover.
      this.stalled = true;
      report.error(err);
      this.flushed.release();
      this.room.release();
    });
  }

  get needsDrain(): boolean {
    return !this.sync && !this.stalled && !this.closed && this.pending >= this.maxBufferBytes;
  }

  get pendingBytes(): number {
    return this.pending;
  }

  write(input: readonly SinkLine[]): void {
    const lines = serializeEach(input, this.report);
    if (lines.length === 0) return;
    // One write for the lines of one call: one buffer append, one system call when idle.
    const chunk = lines.length === 1 ? lines[0]! : lines.join('');
    if (!this.sync && this.stalled && this.pending >= this.maxBufferBytes) {
      // The destination fails and its buffer is full: keep the bound. The empty write makes
      // sonic-boom retry the chunk it holds, so a recovered disk starts writing again.
      this.report.drop(lines.length);
      this.send('');
      return;
    }
    if (!this.sync) this.pending += Buffer.byteLength(chunk);
    this.send(chunk);
  }

  private send(chunk: string): void {
    try {
      this.stream.write(chunk);
    } catch (err) {
      // sonic-boom throws from write() when the file descriptor is unusable (never opened).
      this.stalled = true;
      this.report.error(err);
    }
  }

  waitForDrain(): Promise<void> {
    return this.needsDrain ? this.room.wait() : Promise.resolve();
  }

  flush(): Promise<void> {
    if (this.pending === 0 || this.stalled) return Promise.resolve();
    return this.flushed.wait();
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.room.release();
    // A file that never opened has nothing to close (and sonic-boom would wait for it forever).
    if (!this.owned || (!this.opened && this.stalled)) return;
    await new Promise<void>((resolve) => {
      this.stream.once('close', resolve);
      this.stream.once('error', () => resolve());
      this.stream.end();
    });
  }
}

/**
 * A destination object the caller passed in and keeps owning. One `write()` per line, as
 * {@link AuditLineDestination} promises; a `false` return from an event emitter (a Node stream,
 * a pino transport, sonic-boom) means "wait for 'drain'", as for any Node writable.
 */
class CallerTarget implements LineTarget {
  private readonly emitter: EventEmitter | undefined;
  private readonly onError: ((err: unknown) => void) | undefined;
  private readonly room = new Waiters();
  private blocked = false;

  constructor(
    private readonly destination: AuditLineDestination,
    private readonly report: TargetReport,
  ) {
    if (destination instanceof EventEmitter) {
      this.emitter = destination;
      // An 'error' event without a listener would crash the process.
      this.onError = (err: unknown) => {
        report.error(err);
        this.unblock();
      };
      destination.on('error', this.onError);
    }
  }

  get needsDrain(): boolean {
    return this.blocked;
  }

  get pendingBytes(): number {
    return 0;
  }

  write(input: readonly SinkLine[]): void {
    for (const line of serializeEach(input, this.report)) {
      try {
        if (this.destination.write(line) === false) this.block();
      } catch (err) {
        this.report.error(err);
      }
    }
  }

  waitForDrain(): Promise<void> {
    return this.blocked ? this.room.wait() : Promise.resolve();
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
    this.unblock();
    if (this.onError) this.emitter?.off('error', this.onError);
  }

  private block(): void {
    if (this.blocked || !this.emitter) return;
    this.blocked = true;
    this.emitter.once('drain', this.unblock);
    this.emitter.once('close', this.unblock);
  }

  private readonly unblock = (): void => {
    if (!this.blocked) return;
    this.blocked = false;
    this.emitter?.off('drain', this.unblock);
    this.emitter?.off('close', this.unblock);
    this.room.release();
  };
}
