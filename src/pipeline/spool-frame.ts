import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import type { AuditEvent } from '../event/audit-event';
import { eventJson } from '../event/event-json';
import { readFully } from './spool-fs';
import { AuditInternalError } from '../common/audit-internal.error';

/*
 * frame: magic u32 | payload length u32 | event count u32 | crc32 u32 (all big endian), then the
 *        payload: UTF-8 JSON of the appended event array (`{ events, alarms }` when alarm outbox
 *        entries were appended with them). The CRC covers the first 12 header bytes and the
 *        payload, so a damaged length or count is caught as surely as a damaged payload.
 */

const FRAME_MAGIC = 0xa7d15f01;
const FRAME_HEADER_BYTES = 16;
const MAX_PAYLOAD_BYTES = 0xffffffff;
// Big enough to read many small frames per system call, small enough to stay negligible in memory.
const READ_CHUNK_BYTES = 64 * 1024;

/** Why the bytes at an offset are not a whole, valid frame. */
export type FrameFailure = 'incomplete' | 'invalid';

/** A frame's header: how many events it holds and where the next frame starts. */
export type FrameHeaderRead =
  { ok: true; count: number; end: number } | { ok: false; reason: FrameFailure };

/** A whole frame whose checksum matched, with its still encoded payload. */
export type FrameRead =
  { ok: true; count: number; end: number; payload: Buffer } | { ok: false; reason: FrameFailure };

/**
 * One append as a frame: header (magic, length, event count, CRC32) and the JSON payload.
 *
 * @throws AuditInternalError when the payload is too large for one frame.
 */
export function encodeFrame(
  events: readonly AuditEvent[],
  alarms: readonly AlarmOutboxEntry[],
): Buffer {
  // A frame without alarms keeps the original payload (a bare array), so spools written by an
  // earlier version replay unchanged.
  const eventsJson = `[${events.map(eventJson).join(',')}]`;
  const body =
    alarms.length > 0 ? `{"events":${eventsJson},"alarms":${JSON.stringify(alarms)}}` : eventsJson;
  const payload = Buffer.from(body, 'utf8');
  if (payload.length > MAX_PAYLOAD_BYTES) {
    throw new AuditInternalError(
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

/**
 * The events and alarm outbox entries of a frame's payload (read by {@link FrameReader.frame}).
 *
 * @throws AuditInternalError when the payload does not hold the `count` events its header
 *   announces.
 */
export function decodePayload(
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
    throw new AuditInternalError(
      `AuditSpool: a frame's payload does not hold the ${count} events it announces.`,
    );
  }
  return { events: body.events as AuditEvent[], alarms: body.alarms as AlarmOutboxEntry[] };
}

/**
 * Reads frames at given offsets through one reusable window, so consecutive small frames cost one
 * system call per window instead of two per frame, and a large file is never loaded whole.
 */
export class FrameReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  /**
   * @param fd The spool data file.
   * @param limit Offset where the frames end: bytes past it count as missing.
   */
  constructor(
    private readonly fd: FileHandle,
    private readonly limit: number,
  ) {}

  /** The header of the frame at `position`, without reading its payload. */
  async header(position: number): Promise<FrameHeaderRead> {
    const header = await this.bytes(position, FRAME_HEADER_BYTES);
    if (!header) return { ok: false, reason: 'incomplete' };
    if (header.readUInt32BE(0) !== FRAME_MAGIC) return { ok: false, reason: 'invalid' };
    const count = header.readUInt32BE(8);
    if (count === 0) return { ok: false, reason: 'invalid' };
    return { ok: true, count, end: position + FRAME_HEADER_BYTES + header.readUInt32BE(4) };
  }

  /** The whole frame at `position`, its checksum verified. */
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
