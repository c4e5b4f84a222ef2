import { dirname } from 'node:path';
import type { AlarmOutboxEntry } from '../alarms/alarm-outbox';
import type { AuditEvent } from '../event/audit-event';
import { createDataFile, FILE_HEADER_BYTES, openDataFile, type DataFile } from './spool-data-file';
import { decodePayload, encodeFrame, FrameReader } from './spool-frame';
import { createDirectory, writeFully } from './spool-fs';
import { SpoolHeadFile } from './spool-head';
import { SpoolLock } from './spool-lock';
import type { SpoolAckToken, SpoolBatch, SpoolOpenReport, SpoolStats } from './spool.contract';
import { resolveSpoolOptions, show, type AuditSpoolOptions } from './spool.options';

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
export class SpoolFullError extends Error {
  override readonly name = 'SpoolFullError';

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

interface FrameRef {
  end: number;
  events: number;
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
  private readonly headFile: SpoolHeadFile;
  private readonly fileMode: number;
  private readonly lock: SpoolLock;
  private state: 'closed' | 'opening' | 'open' | 'closing' = 'closed';
  private file: DataFile | undefined;
  private head = FILE_HEADER_BYTES;
  private end = FILE_HEADER_BYTES;
  private pendingEvents = 0;
  private pendingFrames = 0;
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * @param options Where the spool lives and how large it may grow.
   * @throws TypeError when an option is missing or invalid.
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
   * @throws Error when `path` exists but is not a spool file (it is left untouched).
   */
  async open(): Promise<SpoolOpenReport> {
    if (this.state !== 'closed') {
      throw new Error(
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
   * @throws Error when a pending frame was damaged on disk after {@link AuditSpool.open} checked
   * it.
   */
  async peek(maxEvents: number): Promise<SpoolBatch | undefined> {
    this.assertOpen('peek');
    if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) {
      throw new TypeError(
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
   * @throws TypeError when the token does not come from this spool's {@link AuditSpool.peek}.
   */
  async acknowledge(token: SpoolAckToken): Promise<void> {
    this.assertOpen('acknowledge');
    const given: unknown = token;
    if (!(given instanceof AckToken) || given.spool !== this) {
      throw new TypeError(
        'AuditSpool.acknowledge: the token must be one returned by peek() of this same spool.',
      );
    }
    return this.enqueue(() => this.advanceHead(given));
  }

  /** What is pending right now (zeros when the spool is not open). */
  stats(): SpoolStats {
    return { bytes: this.end - this.head, events: this.pendingEvents, frames: this.pendingFrames };
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
      this.head = this.end = FILE_HEADER_BYTES;
      this.pendingEvents = this.pendingFrames = 0;
      await this.lock.release();
      this.state = 'closed';
    }
  }

  private assertOpen(operation: string): void {
    if (this.state !== 'open') {
      throw new Error(
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
    if (!this.file) throw new Error(`AuditSpool ${this.path}: the data file is not open.`);
    return this.file;
  }

  private async writeFrame(frame: Buffer, events: number): Promise<void> {
    const { fd } = this.dataFile();
    if (this.end + frame.length > this.maxBytes) {
      throw new SpoolFullError(this.path, this.end, frame.length, this.maxBytes);
    }
    try {
      await writeFully(fd, frame, this.end);
      await fd.datasync();
    } catch (error) {
      // The caller is told these events were not spooled, so they must not be replayed if the
      // bytes did land. Should this truncate fail too, the next append overwrites them and open()
      // cuts whatever is left as an invalid tail.
      await fd.truncate(this.end).catch(() => undefined);
      throw error;
    }
    this.end += frame.length;
    this.pendingFrames += 1;
    this.pendingEvents += events;
  }

  private async readPending(maxEvents: number): Promise<SpoolBatch | undefined> {
    const file = this.dataFile();
    if (this.head >= this.end) return undefined;
    const reader = new FrameReader(file.fd, this.end);
    const events: AuditEvent[] = [];
    const alarms: AlarmOutboxEntry[] = [];
    const frames: FrameRef[] = [];
    let position = this.head;
    while (position < this.end && events.length < maxEvents) {
      const header = await reader.header(position);
      if (!header.ok) throw this.damaged(position, header.reason);
      if (frames.length > 0 && events.length + header.count > maxEvents) break;
      const frame = await reader.frame(position);
      if (!frame.ok) throw this.damaged(position, frame.reason);
      const decoded = decodePayload(frame.payload, frame.count);
      for (const event of decoded.events) events.push(event);
      for (const alarm of decoded.alarms) alarms.push(alarm);
      frames.push({ end: frame.end, events: frame.count });
      position = frame.end;
    }
    const token = new AckToken(this, file.epoch, frames) as unknown as SpoolAckToken;
    return { events, alarms, token };
  }

  private damaged(position: number, reason: string): Error {
    return new Error(
      `Audit spool ${this.path}: the pending frame at byte ${position} is ${reason} although it ` +
        `was valid when the spool was opened, so the disk or another program changed the file. ` +
        `Events from there on cannot be replayed; reopening the spool discards the damaged part.`,
    );
  }

  private async advanceHead(token: AckToken): Promise<void> {
    const file = this.dataFile();
    // The spool was emptied since that peek, which needed everything in the token acknowledged.
    if (!token.epoch.equals(file.epoch)) return;
    let head = this.head;
    let frames = 0;
    let events = 0;
    for (const frame of token.frames) {
      if (frame.end <= this.head) continue;
      head = frame.end;
      frames += 1;
      events += frame.events;
    }
    if (head === this.head) return;
    await this.headFile.write(file.epoch, head);
    this.head = head;
    this.pendingFrames -= frames;
    this.pendingEvents -= events;
    if (this.head < this.end) return;
    try {
      await this.reset();
    } catch (error) {
      throw new Error(
        `Audit spool ${this.path}: the replayed events were acknowledged, but emptying the spool ` +
          `file failed (${errorMessage(error)}); it is tried again the next time the spool drains.`,
        { cause: error },
      );
    }
  }

  private async reset(): Promise<void> {
    const previous = this.dataFile();
    const fresh = await createDataFile(this.path, this.fileMode);
    this.file = fresh;
    this.head = this.end = FILE_HEADER_BYTES;
    this.pendingEvents = this.pendingFrames = 0;
    await previous.fd.close().catch(() => undefined);
    await this.headFile.write(fresh.epoch, FILE_HEADER_BYTES);
  }

  /** Opens or creates the data file, validates it and positions head and end. */
  private async load(): Promise<SpoolOpenReport['truncated']> {
    const existing = await openDataFile(this.path);
    if (!existing) {
      this.file = await createDataFile(this.path, this.fileMode);
      this.head = this.end = FILE_HEADER_BYTES;
      this.pendingEvents = this.pendingFrames = 0;
      return undefined;
    }
    this.file = existing.file;
    return this.scan(existing.size);
  }

  private async scan(size: number): Promise<SpoolOpenReport['truncated']> {
    const file = this.dataFile();
    const stored = await this.headFile.read(file.epoch);
    let head = stored ?? FILE_HEADER_BYTES;
    let events = 0;
    let frames = 0;
    let failure: 'incomplete' | 'invalid' | undefined;
    const reader = new FrameReader(file.fd, size);
    let position = FILE_HEADER_BYTES;
    while (position < size) {
      const frame = await reader.frame(position);
      if (!frame.ok) {
        failure = frame.reason;
        break;
      }
      // A head inside a frame cannot come from acknowledge(); replaying that frame again is the
      // safe reading (duplicates are ignored by stores, lost events are not recoverable).
      if (head > position && head < frame.end) head = position;
      if (position >= head) {
        events += frame.count;
        frames += 1;
      }
      position = frame.end;
    }
    // Everything before a head past the last valid frame was acknowledged: nothing is pending.
    if (head > position) head = position;
    let truncated: SpoolOpenReport['truncated'];
    if (failure) {
      await file.fd.truncate(position);
      await file.fd.datasync();
      truncated = { offset: position, bytes: size - position, reason: failure };
    }
    this.head = head;
    this.end = position;
    this.pendingEvents = events;
    this.pendingFrames = frames;
    if (this.end > FILE_HEADER_BYTES && this.head === this.end) {
      await this.reset();
    } else if (stored !== undefined && stored !== head) {
      // Frames appended from now on would otherwise start below the stale head and be skipped.
      await this.headFile.write(file.epoch, head);
    }
    return truncated;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
