import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SpoolFileError } from './spool-file.error';

/**
 * Writes all of `data` at `position`: one `write` call may write less than it was given.
 */
export async function writeFully(fd: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fd.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Fills `into` from `position`: one `read` call may return less than asked.
 *
 * @throws SpoolFileError when the file ends first (something else shortened the spool file).
 */
export async function readFully(fd: FileHandle, into: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fd.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) {
      throw new SpoolFileError(
        'AuditSpool: the spool file is shorter than expected; another program changed it.',
      );
    }
    done += bytesRead;
  }
}

/** `mkdir -p` whose new entries survive power loss, like the files later renamed into it. */
export async function createDirectory(directory: string): Promise<void> {
  const first = await mkdir(directory, { recursive: true });
  if (first === undefined) return;
  const created: string[] = [];
  for (let current = directory; current !== dirname(first); current = dirname(current)) {
    created.push(current);
  }
  for (const path of [dirname(first), ...created.reverse()]) await syncDirectory(path);
}

/** Makes the entries of `directory` (a file just created or renamed into it) durable. */
export async function syncDirectory(directory: string): Promise<void> {
  // Windows cannot open a directory for fsync; NTFS journals the rename on its own.
  if (process.platform === 'win32') return;
  const fd = await open(directory, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

/** The `code` of a file-system error (`'ENOENT'`, `'EEXIST'`...), or `undefined`. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
