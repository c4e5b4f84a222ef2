import { FILE_HEADER_BYTES } from './spool-data-file';
import type { SpoolStats } from './spool.contract';

/** A frame handed out by a peek: where it ends and how many events it holds. */
export interface FrameRef {
  end: number;
  events: number;
}

/**
 * The pending part of the data file: from `head` (the first unacknowledged frame) to `end` (where
 * the next frame is appended), with the number of events and frames in between.
 */
export interface PendingRange {
  readonly head: number;
  readonly end: number;
  readonly events: number;
  readonly frames: number;
}

/** Nothing pending: head and end right after the file header. */
export const EMPTY_PENDING: PendingRange = Object.freeze({
  head: FILE_HEADER_BYTES,
  end: FILE_HEADER_BYTES,
  events: 0,
  frames: 0,
});

/** The range once a frame of `bytes` holding `events` events was appended at its end. */
export function withAppendedFrame(
  pending: PendingRange,
  bytes: number,
  events: number,
): PendingRange {
  return {
    ...pending,
    end: pending.end + bytes,
    events: pending.events + events,
    frames: pending.frames + 1,
  };
}

/**
 * The range once the `frames` of one peek are acknowledged, or `undefined` when none of them is
 * still pending (a token acknowledged twice, or older than one acknowledged since).
 */
export function withoutAcknowledged(
  pending: PendingRange,
  frames: readonly FrameRef[],
): PendingRange | undefined {
  let head = pending.head;
  let removedFrames = 0;
  let removedEvents = 0;
  for (const frame of frames) {
    if (frame.end <= pending.head) continue;
    head = frame.end;
    removedFrames += 1;
    removedEvents += frame.events;
  }
  if (head === pending.head) return undefined;
  return {
    head,
    end: pending.end,
    events: pending.events - removedEvents,
    frames: pending.frames - removedFrames,
  };
}

/** What {@link AuditSpool.stats} reports for the range. */
export function pendingStats(pending: PendingRange): SpoolStats {
  return { bytes: pending.end - pending.head, events: pending.events, frames: pending.frames };
}
