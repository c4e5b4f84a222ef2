import type { FileHandle } from 'node:fs/promises';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import type { AuditEvent } from '../event/audit-event';
import { decodePayload, FrameReader } from './spool-frame';
import type { FrameRef, PendingRange } from './spool-state';
import { SpoolFileError } from './spool-file.error';

/** The oldest pending frames, decoded: what one peek hands out. */
export interface PendingFrames {
  events: AuditEvent[];
  alarms: AlarmOutboxEntry[];
  frames: FrameRef[];
}

/**
 * Reads whole frames from the head of `pending`, in append order, up to `maxEvents` events but
 * always at least one frame, however large.
 *
 * @param path The spool data file, named in the error.
 * @throws SpoolFileError when a pending frame was damaged on disk after the spool was opened.
 */
export async function readPendingFrames(
  fd: FileHandle,
  pending: PendingRange,
  maxEvents: number,
  path: string,
): Promise<PendingFrames> {
  const reader = new FrameReader(fd, pending.end);
  const read: PendingFrames = { events: [], alarms: [], frames: [] };
  let position = pending.head;
  while (position < pending.end && read.events.length < maxEvents) {
    const header = await reader.header(position);
    if (!header.ok) throw damaged(path, position, header.reason);
    if (read.frames.length > 0 && read.events.length + header.count > maxEvents) break;
    const frame = await reader.frame(position);
    if (!frame.ok) throw damaged(path, position, frame.reason);
    const decoded = decodePayload(frame.payload, frame.count);
    for (const event of decoded.events) read.events.push(event);
    for (const alarm of decoded.alarms) read.alarms.push(alarm);
    read.frames.push({ end: frame.end, events: frame.count });
    position = frame.end;
  }
  return read;
}

function damaged(path: string, position: number, reason: string): SpoolFileError {
  return new SpoolFileError(
    `Audit spool ${path}: the pending frame at byte ${position} is ${reason} although it ` +
      `was valid when the spool was opened, so the disk or another program changed the file. ` +
      `Events from there on cannot be replayed; reopening the spool discards the damaged part.`,
  );
}
