import { randomBytes } from 'node:crypto';
import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { createExclusive } from '../common/file-mode';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import type { AlarmOutboxEntry } from '../alarms/alarm-outbox';
import type { AuditEvent } from '../event/audit-event';
import { eventJson } from '../event/event-json';
import { createDirectory, errorCode, readFully, syncDirectory, writeFully } from './spool-fs';
import { SpoolLock } from './spool-lock';
import type { SpoolAckToken, SpoolBatch, SpoolOpenReport, SpoolStats } from './spool.contract';
import { resolveSpoolOptions, show, type AuditSpoolOptions } from './spool.options';

/*
 * On-disk layout
 *
 * <path>       file header: 'AUDSPL01' (8 bytes) + epoch (8 random bytes), then frames.
 *              frame: magic u32 | payload length u32 | event count u32 | crc32 u32 (all big
 *              endian), then the payload: UTF-8 JSON of the appended event array. The CRC covers
 *              the first 12 header bytes and the payload, so a damaged length or count is caught
 *              as surely as a damaged payload.
 * <path>.head  JSON { epoch, offset }: byte offset of the first unacknowledged frame. It only
 *              counts when its epoch equals the data file's: emptying the spool replaces the data
 *              file (new epoch) with one atomic rename, so a crash at any point of a reset can
 *              never leave a head offset pointing into unrelated, newer frames.
 * <path>.lock  pid of the process that owns the spool (spool-lock.ts).
 */

const FILE_MAGIC = Buffer.from('AUDSPL01', 'latin1');
const FILE_HEADER_BYTES = 16;
const FRAME_MAGIC = 0xa7d15f01;
const FRAME_HEADER_BYTES = 16;
const MAX_PAYLOAD_BYTES = 0xffffffff;
// Big enough to read many small frames per system call, small enough to stay negligible in memory.
const READ_CHUNK_BYTES = 64 * 1024;

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

interface DataFile {
  fd: FileHandle;
  epoch: Buffer;
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

type FrameRead =
  | { ok: true; count: number; end: number; payload: Buffer }
  | { ok: false; reason: 'incomplete' | 'invalid' };

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
  private readonly headPath: string;
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
    this.headPath = `${this.path}.head`;
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
    await this.writeHead(file.epoch, head);
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
    const fresh = await this.createDataFile();
    this.file = fresh;
    this.head = this.end = FILE_HEADER_BYTES;
    this.pendingEvents = this.pendingFrames = 0;
    await previous.fd.close().catch(() => undefined);
    await this.writeHead(fresh.epoch, FILE_HEADER_BYTES);
  }

  /** Opens or creates the data file, validates it and positions head and end. */
  private async load(): Promise<SpoolOpenReport['truncated']> {
    let fd: FileHandle;
    try {
      fd = await open(this.path, 'r+');
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      this.file = await this.createDataFile();
      this.head = this.end = FILE_HEADER_BYTES;
      this.pendingEvents = this.pendingFrames = 0;
      return undefined;
    }
    let size: number;
    const fileHeader = Buffer.alloc(FILE_HEADER_BYTES);
    try {
      size = (await fd.stat()).size;
      if (size > 0 && size >= FILE_HEADER_BYTES) await readFully(fd, fileHeader, 0);
    } catch (error) {
      await fd.close();
      throw error;
    }
    if (size === 0) {
      // An empty file holds nothing to lose (a spool file is never empty once created).
      await fd.close();
      this.file = await this.createDataFile();
      this.head = this.end = FILE_HEADER_BYTES;
      this.pendingEvents = this.pendingFrames = 0;
      return undefined;
    }
    if (size < FILE_HEADER_BYTES || !fileHeader.subarray(0, FILE_MAGIC.length).equals(FILE_MAGIC)) {
      await fd.close();
      throw new Error(
        `${this.path} is not an nestjs-audit spool file (its first bytes are not a spool ` +
          `header), so it was left untouched. Point the spool path at a file only the spool ` +
          `uses, or delete this file if it is a leftover.`,
      );
    }
    this.file = { fd, epoch: Buffer.from(fileHeader.subarray(FILE_MAGIC.length)) };
    return this.scan(size);
  }

  private async scan(size: number): Promise<SpoolOpenReport['truncated']> {
    const file = this.dataFile();
    const stored = await this.readHead(file.epoch);
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
      await this.writeHead(file.epoch, head);
    }
    return truncated;
  }

  /** Writes a new, empty data file with a fresh epoch and atomically puts it in place. */
  private async createDataFile(): Promise<DataFile> {
    const epoch = randomBytes(FILE_HEADER_BYTES - FILE_MAGIC.length);
    const temporary = `${this.path}.new`;
    const fd = await createExclusive(temporary, this.fileMode, 'wx+');
    try {
      await writeFully(fd, Buffer.concat([FILE_MAGIC, epoch]), 0);
      await fd.datasync();
      await rename(temporary, this.path);
      // Without this the rename itself could be lost on power failure, and with it later appends.
      await syncDirectory(dirname(this.path));
    } catch (error) {
      await fd.close().catch(() => undefined);
      throw error;
    }
    return { fd, epoch };
  }

  private async readHead(epoch: Buffer): Promise<number | undefined> {
    let text: string;
    try {
      text = await readFile(this.headPath, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null) return undefined;
      const { epoch: storedEpoch, offset } = parsed as { epoch?: unknown; offset?: unknown };
      if (storedEpoch !== epoch.toString('hex')) return undefined;
      if (!Number.isSafeInteger(offset) || (offset as number) < FILE_HEADER_BYTES) return undefined;
      return offset as number;
    } catch {
      // Written by rename only, so unreadable means edited by hand: replaying everything is safe.
      return undefined;
    }
  }

  private async writeHead(epoch: Buffer, offset: number): Promise<void> {
    const temporary = `${this.headPath}.new`;
    const fd = await createExclusive(temporary, this.fileMode);
    try {
      await fd.writeFile(`${JSON.stringify({ epoch: epoch.toString('hex'), offset })}\n`);
      await fd.datasync();
    } finally {
      await fd.close();
    }
    await rename(temporary, this.headPath);
    await syncDirectory(dirname(this.headPath));
  }
}

function encodeFrame(events: readonly AuditEvent[], alarms: readonly AlarmOutboxEntry[]): Buffer {
  // A frame without alarms keeps the original payload (a bare array), so spools written by an
  // earlier version replay unchanged.
  const eventsJson = `[${events.map(eventJson).join(',')}]`;
  const body =
    alarms.length > 0 ? `{"events":${eventsJson},"alarms":${JSON.stringify(alarms)}}` : eventsJson;
  const payload = Buffer.from(body, 'utf8');
  if (payload.length > MAX_PAYLOAD_BYTES) {
    throw new RangeError(
      `AuditSpool.append: ${events.length} events serialise to ${payload.length} bytes, more ` +
        `than one frame can hold (${MAX_PAYLOAD_BYTES}); append them in smaller batches.`,
    );
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(FRAME_MAGIC, 0);
  frame.writeUInt32BE(payload.length, 4);
  frame.writeUInt32BE(events.length, 8);
  payload.copy(frame, FRAME_HEADER_BYTES);
  frame.writeUInt32BE(frameChecksum(frame.subarray(0, 12), payload), 12);
  return frame;
}

function frameChecksum(header: Buffer, payload: Buffer): number {
  return crc32(payload, crc32(header));
}

function decodePayload(
  payload: Buffer,
  count: number,
): { events: AuditEvent[]; alarms: AlarmOutboxEntry[] } {
  const parsed: unknown = JSON.parse(payload.toString('utf8'));
  const body = Array.isArray(parsed)
    ? { events: parsed as unknown, alarms: [] as unknown }
    : (parsed as { events?: unknown; alarms?: unknown } | null);
  // The CRC matched, so a mismatch here is a bug in the writer, not damage: fail loudly.
  if (
    !body ||
    !Array.isArray(body.events) ||
    body.events.length !== count ||
    !Array.isArray(body.alarms)
  ) {
    throw new Error(
      `AuditSpool: a frame's payload does not hold the ${count} events it announces.`,
    );
  }
  return { events: body.events as AuditEvent[], alarms: body.alarms as AlarmOutboxEntry[] };
}

/**
 * Reads frames at given offsets through one reusable window, so consecutive small frames cost one
 * system call per window instead of two per frame, and a large file is never loaded whole.
 */
class FrameReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly fd: FileHandle,
    private readonly limit: number,
  ) {}

  async header(
    position: number,
  ): Promise<
    { ok: true; count: number; end: number } | { ok: false; reason: 'incomplete' | 'invalid' }
  > {
    const header = await this.bytes(position, FRAME_HEADER_BYTES);
    if (!header) return { ok: false, reason: 'incomplete' };
    if (header.readUInt32BE(0) !== FRAME_MAGIC) return { ok: false, reason: 'invalid' };
    const count = header.readUInt32BE(8);
    if (count === 0) return { ok: false, reason: 'invalid' };
    return { ok: true, count, end: position + FRAME_HEADER_BYTES + header.readUInt32BE(4) };
  }

  async frame(position: number): Promise<FrameRead> {
    const header = await this.header(position);
    if (!header.ok) return header;
    const bytes = await this.bytes(position, header.end - position);
    if (!bytes) return { ok: false, reason: 'incomplete' };
    const payload = bytes.subarray(FRAME_HEADER_BYTES);
    if (frameChecksum(bytes.subarray(0, 12), payload) !== bytes.readUInt32BE(12)) {
      return { ok: false, reason: 'invalid' };
    }
    return { ok: true, count: header.count, end: header.end, payload };
  }

  /** `length` bytes at `position`, or `undefined` when they extend past the limit. */
  private async bytes(position: number, length: number): Promise<Buffer | undefined> {
    if (position + length > this.limit) return undefined;
    const offset = position - this.windowStart;
    if (offset >= 0 && offset + length <= this.window.length) {
      return this.window.subarray(offset, offset + length);
    }
    const size = Math.max(length, Math.min(READ_CHUNK_BYTES, this.limit - position));
    const window = Buffer.allocUnsafe(size);
    await readFully(this.fd, window, position);
    this.window = window;
    this.windowStart = position;
    return window.subarray(0, length);
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
