import { readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createExclusive } from '../common/file-mode';
import { FILE_HEADER_BYTES } from './spool-data-file';
import { errorCode, syncDirectory } from './spool-fs';

/**
 * The head file `<path>.head`: JSON `{ epoch, offset }`, the byte offset of the first
 * unacknowledged frame. It only counts when its epoch equals the data file's: emptying the spool
 * replaces the data file (new epoch) with one atomic rename, so a crash at any point of a reset
 * can never leave a head offset pointing into unrelated, newer frames.
 */
export class SpoolHeadFile {
  /**
   * @param path The head file, `<spool path>.head`.
   * @param fileMode Permissions of the head file.
   */
  constructor(
    readonly path: string,
    private readonly fileMode: number,
  ) {}

  /** The stored offset when it belongs to the data file of `epoch`, else `undefined`. */
  async read(epoch: Buffer): Promise<number | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
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

  /** Durably replaces the head file with `offset` in the data file of `epoch`. */
  async write(epoch: Buffer, offset: number): Promise<void> {
    const temporary = `${this.path}.new`;
    const fd = await createExclusive(temporary, this.fileMode);
    try {
      await fd.writeFile(`${JSON.stringify({ epoch: epoch.toString('hex'), offset })}\n`);
      await fd.datasync();
    } finally {
      await fd.close();
    }
    await rename(temporary, this.path);
    await syncDirectory(dirname(this.path));
  }
}
