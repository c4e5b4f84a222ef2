import { closeSync, fchmodSync, openSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { describe } from './option-checks';

/**
 * Permissions of the files the library creates (database, spool, stream, checkpoints): the
 * owner's alone. An audit trail holds personal data and secrets' neighbours; a log shipper that
 * runs as another user of the same group can be let in with `0o640`.
 */
export const DEFAULT_FILE_MODE = 0o600;

/**
 * Why `mode` cannot be the permissions of an audit file, or `undefined`: a whole number from
 * 0 to 0o777 that lets the owner read and write, and nobody else write.
 */
export function fileModeProblem(mode: unknown): string | undefined {
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    return `expected permission bits such as 0o600 or 0o640, got ${typeof mode === 'number' ? `0o${mode.toString(8)}` : describe(mode)}`;
  }
  if ((mode & 0o600) !== 0o600) {
    return `0o${mode.toString(8)} does not let the owner (the application) read and write the file`;
  }
  if ((mode & 0o022) !== 0) {
    return `0o${mode.toString(8)} lets other users change the audit trail; give write access to the owner only (e.g. 0o600 or 0o640)`;
  }
  return undefined;
}

/**
 * Creates `path` as a new file with `mode` exactly (whatever the umask), failing if anything
 * exists there: a file, or a link planted to make the application write elsewhere. A stale
 * file of the application's own at that name (a temporary left by a crash) is removed first.
 */
export async function createExclusive(
  path: string,
  mode: number,
  flags: 'wx' | 'wx+' = 'wx',
): Promise<FileHandle> {
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  const handle = await open(path, flags, mode);
  try {
    // On the open file, not its name: the name could point elsewhere by now.
    await handle.chmod(mode);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
  return handle;
}

/**
 * Creates an empty file with `mode` exactly if nothing is at `path` (an existing file keeps its
 * own permissions). SQLite then opens it as a new database, and gives its `-wal` and `-shm`
 * files the same permissions.
 */
export function createIfMissing(path: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  try {
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}
