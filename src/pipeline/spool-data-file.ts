import { randomBytes } from 'node:crypto';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createExclusive } from '../common/file-mode';
import { errorCode, readFully, syncDirectory, writeFully } from './spool-fs';
import { SpoolFileError } from './spool-file.error';

/*
 * <path>  file header: 'AUDSPL01' (8 bytes) + epoch (8 random bytes), then frames (see
 *         spool-frame.ts). Emptying the spool replaces the whole file, with a new epoch, in one
 *         atomic rename.
 */

const FILE_MAGIC = Buffer.from('AUDSPL01', 'latin1');
/** Size of the data file's header: the offset of its first frame. */
export const FILE_HEADER_BYTES = 16;

/** The open spool data file and the epoch its header carries. */
export interface DataFile {
  fd: FileHandle;
  epoch: Buffer;
}

/** Writes a new, empty data file with a fresh epoch and atomically puts it in place. */
export async function createDataFile(path: string, fileMode: number): Promise<DataFile> {
  const epoch = randomBytes(FILE_HEADER_BYTES - FILE_MAGIC.length);
  const temporary = `${path}.new`;
  const fd = await createExclusive(temporary, fileMode, 'wx+');
  try {
    await writeFully(fd, Buffer.concat([FILE_MAGIC, epoch]), 0);
    await fd.datasync();
    await rename(temporary, path);
    // Without this the rename itself could be lost on power failure, and with it later appends.
    await syncDirectory(dirname(path));
  } catch (error) {
    await fd.close().catch(() => undefined);
    throw error;
  }
  return { fd, epoch };
}

/**
 * Opens the data file a previous run left at `path` and checks its header. Resolves `undefined`
 * when there is none to keep: no file, or an empty one (a spool file is never empty once created,
 * so it holds nothing to lose).
 *
 * @throws SpoolFileError when the file is not a spool file (it is left untouched).
 */
export async function openDataFile(
  path: string,
): Promise<{ file: DataFile; size: number } | undefined> {
  let fd: FileHandle;
  try {
    fd = await open(path, 'r+');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
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
    await fd.close();
    return undefined;
  }
  if (size < FILE_HEADER_BYTES || !fileHeader.subarray(0, FILE_MAGIC.length).equals(FILE_MAGIC)) {
    await fd.close();
    throw new SpoolFileError(
      `${path} is not an nestjs-audit spool file (its first bytes are not a spool ` +
        `header), so it was left untouched. Point the spool path at a file only the spool ` +
        `uses, or delete this file if it is a leftover.`,
    );
  }
  return { file: { fd, epoch: Buffer.from(fileHeader.subarray(FILE_MAGIC.length)) }, size };
}
