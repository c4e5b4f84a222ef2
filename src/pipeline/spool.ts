import { dirname } from 'node:path';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import { messageOf } from '../common/message-of';
import type { AuditEvent } from '../event/audit-event';
import { createDataFile, FILE_HEADER_BYTES, openDataFile, type DataFile } from './spool-data-file';
import { readPendingFrames } from './spool-batch';
import { encodeFrame } from './spool-frame';
import { createDirectory, writeFully } from './spool-fs';
import { SpoolHeadFile } from './spool-head';
import { SpoolLock } from './spool-lock';
import { recoverPending } from './spool-recovery';
import {
  EMPTY_PENDING,
  pendingStats,
  withAppendedFrame,
  withoutAcknowledged,
  type FrameRef,
  type PendingRange,
} from './spool-state';
import type { SpoolAckToken, SpoolBatch, SpoolOpenReport, SpoolStats } from './spool.contract';
import { resolveSpoolOptions, show, type AuditSpoolOptions } from './spool.options';
import { SpoolFileError } from './spool-file.error';
import { AuditInternalError } from '../common/audit-internal.error';
import { AuditStateError } from '../common/audit-state.error';
import { AuditError } from '../common/audit-error';

/*
 * On-disk layout, one file per concern:
 *
 * <path>       the data file: a header with the file's epoch, then one frame per append
 *              (spool-data-file.ts, spool-frame.ts).
 * <path>.head  where the replay resumes in the data file of that epoch (spool-head.ts).
 * <path>.lock  pid of the process that owns the spool (spool-lock.ts).
 */

/**
 * Rejection of {@link AuditSpool.append} when the events would grow the spool past `maxBytes`.
 * Nothing was written: the events are not spooled, and the caller must treat them as not
 * recorded (the `'spool'` policy falls back to `'fail'`).
 */
export class SpoolFullError extends AuditError {
  override readonly name = 'SpoolFullError';
  override readonly code = 'AUDIT_SPOOL_FULL';

  /**
   * @param path Spool data file.
   * @param fileBytes Current size of the spool file.
   * @param frameBytes Size of the frame that did not fit.
   * @param maxBytes Configured cap.
   */
  constructor(
    readonly path: string,
    readonly fileBytes: number,
    readonly frameBytes: number,
    readonly maxBytes: number,
  ) {
    super(
      `Audit spool ${path} is full: appending ${frameBytes} bytes to its ${fileBytes} would ` +
        `exceed maxBytes (${maxBytes}), so these events were not spooled. Restore the audit ` +
        `store so the spool can be replayed and emptied, or raise the spool size limit.`,
    );
  }
}

class AckToken {
  constructor(
    readonly spool: AuditSpool,
    readonly epoch: Buffer,
    readonly frames: readonly FrameRef[],
  ) {}
}

/**
 * A local, append-only, crash-safe file for events the pipeline could not commit to the store,
 * replayed by a background task once the store answers again.
 *
 * Guarantees:
 * - When {@link AuditSpool.append} resolves, its events are on disk (`fdatasync`) and survive a
 *   process crash, SIGKILL and power loss. On macOS `fsync` does not flush the drive's cache, so
 *   power loss there is covered only as far as the drive honours it.
 * - Each append is one frame (length + CRC32), all or nothing: {@link AuditSpool.peek} never
 *   returns a torn or damaged frame, and {@link AuditSpool.open} cuts a torn tail off (see
 *   {@link SpoolOpenReport}).
 * - Delivery is at least once. A crash after the store committed a peeked batch but before
 *   {@link AuditSpool.acknowledge} made that durable replays the batch on the next run. That is
 *   harmless because every store ignores an event whose id it already holds; replay relies on it.
 *
 * All file operations run one at a time, in call order, so appends may freely interleave with a
 * replay (peek, commit, acknowledge). One spool belongs to one process: {@link AuditSpool.open}
 * takes a lock file so that no other process (or other instance) uses the same path.
 *
 * @example
 * ```ts
 * const spool = new AuditSpool({ path: './var/audit.spool', maxBytes: 256 * 1024 * 1024 });
 * const report = await spool.open();
 * if (report.truncated) logger.warn({ ...report.truncated }, 'audit spool: cut a torn tail');
 * // store down:
 * await spool.append(events);
 * // store back:
 * for (let batch = await spool.peek(100); batch; batch = await spool.peek(100)) {
 *   await store.append(batch.events);
 *   await spool.acknowledge(batch.token);
 * }
 * await spool.close();
 * ```
 */
export class AuditSpool {
  /** Absolute path of the spool data file. */
  readonly path: string;
  /** Cap on the data file size, see {@link AuditSpoolOptions.maxBytes}. */
  readonly maxBytes: number;
  private readonly fileMode: number;
  private readonly lock: SpoolLock;
  private readonly headFile: SpoolHeadFile;
  private state: 'closed' | 'opening' | 'open' | 'closing' = 'closed';
  private file: DataFile | undefined;
  private pending: PendingRange = EMPTY_PENDING;
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * @param options Where the spool lives and how large it may grow.
   * @throws AuditConfigurationError when an option is missing or invalid.
   */
  constructor(options: AuditSpoolOptions) {
    const { path, maxBytes, fileMode } = resolveSpoolOptions(options);
    this.path = path;
    this.maxBytes = maxBytes;
    this.fileMode = fileMode;
    this.lock = new SpoolLock(path, `${path}.lock`, fileMode);
    this.headFile = new SpoolHeadFile(`${path}.head`, fileMode);
  }

  /**
   * Creates the directory, takes the lock, then checks every frame of an existing spool and cuts
   * off a torn tail. Resolves with what it found; log `truncated` and `staleLockPid` when present.
   *
   * @throws SpoolLockedError when another live process holds the spool.
   * @throws SpoolFileError when `path` exists but is not a spool file (it is left untouched).
   */
  async open(): Promise<SpoolOpenReport> {
    if (this.state !== 'closed') {
      throw new AuditStateError(
        `AuditSpool ${this.path} is already open; call close() before opening again.`,
      );
    }
    this.state = 'opening';
    try {
      await createDirectory(dirname(this.path));
      const staleLockPid = await this.lock.acquire();
      try {
        const truncated = await this.load();
        this.state = 'open';
        return {
          pending: this.stats(),
          ...(truncated ? { truncated } : {}),
          ...(staleLockPid === undefined ? {} : { staleLockPid }),
        };
      } catch (error) {
        await this.file?.fd.close().catch(() => undefined);
        this.file = undefined;
        await this.lock.release();
        throw error;
      }
    } catch (error) {
      this.state = 'closed';
      throw error;
    }
  }

  /**
   * Appends the events (and the alarm outbox entries raised by them) as one frame and resolves
   * once it is flushed to disk. An empty array of events resolves at once and writes nothing.
   *
   * @throws SpoolFullError when the frame would grow the file past `maxBytes`; nothing is written.
   */
  async append(
    events: readonly AuditEvent[],
    alarms: readonly AlarmOutboxEntry[] = [],
  ): Promise<void> {
    this.assertOpen('append');
    if (events.length === 0) return;
    // Encoding outside the queue: an event that cannot be serialised fails its own caller only.
    const frame = encodeFrame(events, alarms);
    return this.enqueue(() => this.writeFrame(frame, events.length));
  }

  /**
   * Returns the oldest pending events without removing them: whole frames, in append order, up to
   * `maxEvents` events, but always at least one frame, however large. Calling it again before
   * {@link AuditSpool.acknowledge} returns the same events. Resolves `undefined` when nothing is
   * pending.
   *
   * @param maxEvents Positive integer.
   * @throws SpoolFileError when a pending frame was damaged on disk after {@link AuditSpool.open}
   * checked it.
   */
  async peek(maxEvents: number): Promise<SpoolBatch | undefined> {
    this.assertOpen('peek');
    if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) {
      throw new AuditInternalError(
        `AuditSpool.peek: maxEvents must be a positive integer; got ${show(maxEvents)}.`,
      );
    }
    return this.enqueue(() => this.readPending(maxEvents));
  }

  /**
   * Durably marks the events of a {@link AuditSpool.peek} as replayed; they are never returned
   * again. Call it only after the store committed them. Acknowledging a token twice, or one older
   * than a later acknowledged token, is a no-op. Once nothing is pending the spool file is
   * emptied (a new, empty data file replaces it atomically).
   *
   * @throws AuditInternalError when the token does not come from this spool's
   *   {@link AuditSpool.peek}.
   */
  async acknowledge(token: SpoolAckToken): Promise<void> {
    this.assertOpen('acknowledge');
    const given: unknown = token;
    if (!(given instanceof AckToken) || given.spool !== this) {
      throw new AuditInternalError(
        'AuditSpool.acknowledge: the token must be one returned by peek() of this same spool.',
      );
    }
    return this.enqueue(() => this.advanceHead(given));
  }

  /** What is pending right now (zeros when the spool is not open). */
  stats(): SpoolStats {
    return pendingStats(this.pending);
  }

  /**
   * Waits for queued operations, closes the file and releases the lock. Calls made after it
   * started reject. Resolves at once when the spool is not open.
   */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    try {
      await this.queue;
      await this.file?.fd.close();
    } finally {
      this.file = undefined;
      this.pending = EMPTY_PENDING;
      await this.lock.release();
      this.state = 'closed';
    }
  }

  private assertOpen(operation: string): void {
    if (this.state !== 'open') {
      throw new AuditStateError(
        `AuditSpool.${operation}: the spool ${this.path} is not open; call open() first and do ` +
          `not use it after close().`,
      );
    }
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private dataFile(): DataFile {
    if (!this.file)
      throw new AuditStateError(`AuditSpool ${this.path}: the data file is not open.`);
    return this.file;
  }

  private async writeFrame(frame: Buffer, events: number): Promise<void> {
    const { fd } = this.dataFile();
    const { end } = this.pending;
    if (end + frame.length > this.maxBytes) {
      throw new SpoolFullError(this.path, end, frame.length, this.maxBytes);
    }
    try {
      await writeFully(fd, frame, end);
      await fd.datasync();
    } catch (error) {
      // The caller is told these events were not spooled, so they must not be replayed if the
      // bytes did land. Should this truncate fail too, the next append overwrites them and open()
      // cuts whatever is left as an invalid tail.
      await fd.truncate(end).catch(() => undefined);
      throw error;
    }
    this.pending = withAppendedFrame(this.pending, frame.length, events);
  }

  private async readPending(maxEvents: number): Promise<SpoolBatch | undefined> {
    const file = this.dataFile();
    if (this.pending.head >= this.pending.end) return undefined;
    const read = await readPendingFrames(file.fd, this.pending, maxEvents, this.path);
    const token = new AckToken(this, file.epoch, read.frames) as unknown as SpoolAckToken;
    return { events: read.events, alarms: read.alarms, token };
  }

  private async advanceHead(token: AckToken): Promise<void> {
    const file = this.dataFile();
    // The spool was emptied since that peek, which needed everything in the token acknowledged.
    if (!token.epoch.equals(file.epoch)) return;
    const next = withoutAcknowledged(this.pending, token.frames);
    if (!next) return;
    await this.headFile.write(file.epoch, next.head);
    this.pending = next;
    if (next.head < next.end) return;
    try {
      await this.reset();
    } catch (error) {
      throw new SpoolFileError(
        `Audit spool ${this.path}: the replayed events were acknowledged, but emptying the spool ` +
          `file failed (${messageOf(error)}); it is tried again the next time the spool drains.`,
        { cause: error },
      );
    }
  }

  private async reset(): Promise<void> {
    const previous = this.dataFile();
    const fresh = await createDataFile(this.path, this.fileMode);
    this.file = fresh;
    this.pending = EMPTY_PENDING;
    await previous.fd.close().catch(() => undefined);
    await this.headFile.write(fresh.epoch, FILE_HEADER_BYTES);
  }

  /** Opens or creates the data file, validates it and positions head and end. */
  private async load(): Promise<SpoolOpenReport['truncated']> {
    const existing = await openDataFile(this.path);
    if (!existing) {
      this.file = await createDataFile(this.path, this.fileMode);
      this.pending = EMPTY_PENDING;
      return undefined;
    }
    this.file = existing.file;
    const stored = await this.headFile.read(existing.file.epoch);
    const { pending, truncated } = await recoverPending(existing.file, existing.size, stored);
    this.pending = pending;
    if (pending.end > FILE_HEADER_BYTES && pending.head === pending.end) {
      await this.reset();
    } else if (stored !== undefined && stored !== pending.head) {
      // Frames appended from now on would otherwise start below the stale head and be skipped.
      await this.headFile.write(existing.file.epoch, pending.head);
    }
    return truncated;
  }
}
