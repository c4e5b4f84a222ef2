import { FILE_HEADER_BYTES, type DataFile } from './spool-data-file';
import { FrameReader, type FrameFailure } from './spool-frame';
import type { PendingRange } from './spool-state';
import type { SpoolOpenReport } from './spool.contract';

/** What {@link recoverPending} found in the data file a previous run left. */
export interface RecoveredSpool {
  pending: PendingRange;
  truncated?: SpoolOpenReport['truncated'];
}

/**
 * Checks every frame of an existing data file, cuts off a torn or damaged tail (durably), and
 * works out what is still pending from the head the head file stored.
 *
 * @param file The data file, its header already checked.
 * @param size Its size in bytes.
 * @param storedHead The head file's offset for this file's epoch, if any.
 */
export async function recoverPending(
  file: DataFile,
  size: number,
  storedHead: number | undefined,
): Promise<RecoveredSpool> {
  let head = storedHead ?? FILE_HEADER_BYTES;
  let events = 0;
  let frames = 0;
  let failure: FrameFailure | undefined;
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
  const pending = { head, end: position, events, frames };
  if (!failure) return { pending };
  await file.fd.truncate(position);
  await file.fd.datasync();
  return { pending, truncated: { offset: position, bytes: size - position, reason: failure } };
}
