import { open, readFile, stat, unlink, type FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { errorCode } from './spool-fs';
import { AuditError } from '../common/audit-error';

// A lock file without a pid is normally a creator between its open() and write(); only after this
// long is it taken to be the leftover of a process that died in between.
const EMPTY_LOCK_GRACE_MS = 2_000;
// Coarse file-system timestamps can date a lock written by this process slightly before its start.
const OWN_LOCK_CLOCK_SLACK_MS = 2_000;

/**
 * Rejection of {@link AuditSpool.open} when another live process (or another spool instance in
 * this process) holds the spool's lock file.
 */
export class SpoolLockedError extends AuditError {
  override readonly name = 'SpoolLockedError';
  override readonly code = 'AUDIT_SPOOL_LOCKED';

  /**
   * @param path Spool data file.
   * @param lockPath The lock file.
   * @param pid Pid written in the lock file, when it holds one.
   */
  constructor(
    readonly path: string,
    readonly lockPath: string,
    readonly pid: number | undefined,
  ) {
    const holder =
      pid === undefined
        ? 'another process'
        : pid === process.pid
          ? `this process (pid ${pid}) through another AuditSpool instance`
          : `another process (pid ${pid})`;
    super(
      `Audit spool ${path} is in use by ${holder}: its lock file ${lockPath} is held. Processes ` +
        `must never share a spool; give each application instance its own spool path (for ` +
        `example one that includes the host name or instance id). If no such process is running, ` +
        `delete the lock file.`,
    );
  }
}

/**
 * The lock file `<path>.lock`: the pid of the process that owns the spool, so that no other
 * process (or other spool instance) uses the same path.
 */
export class SpoolLock {
  /** What this instance wrote into the lock file while it holds it. */
  private content: string | undefined;

  /**
   * @param spoolPath The spool data file, named in {@link SpoolLockedError}.
   * @param path The lock file, `<spool path>.lock`.
   * @param fileMode Permissions of the lock file.
   */
  constructor(
    private readonly spoolPath: string,
    readonly path: string,
    private readonly fileMode: number,
  ) {}

  /**
   * Creates the lock file; resolves with the pid of a stale lock it replaced, if any.
   *
   * @throws SpoolLockedError when a live process holds the lock.
   */
  async acquire(): Promise<number | undefined> {
    const content = `${process.pid}\n`;
    let staleLockPid: number | undefined;
    // Retries only when the lock changed under us (another process racing for the same path).
    for (let attempt = 0; attempt < 5; attempt += 1) {
      if (await this.create(content)) return staleLockPid;
      const holder = await readLock(this.path);
      if (holder === undefined) continue;
      if (isLockAlive(holder)) throw new SpoolLockedError(this.spoolPath, this.path, holder.pid);
      if (await unlinkIfUnchanged(this.path, holder.content)) staleLockPid = holder.pid;
    }
    const holder = await readLock(this.path);
    throw new SpoolLockedError(this.spoolPath, this.path, holder?.pid);
  }

  /** Removes the lock file if this instance holds it and it was not taken over since. */
  async release(): Promise<void> {
    if (this.content === undefined) return;
    const content = this.content;
    this.content = undefined;
    await unlinkIfUnchanged(this.path, content);
  }

  /** Creates the lock file holding `content`; resolves false when a lock file already exists. */
  private async create(content: string): Promise<boolean> {
    let fd: FileHandle;
    try {
      fd = await open(this.path, 'wx', this.fileMode);
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return false;
      throw error;
    }
    try {
      await fd.writeFile(content);
    } catch (error) {
      await fd.close().catch(() => undefined);
      await unlink(this.path).catch(() => undefined);
      throw error;
    }
    await fd.close();
    this.content = content;
    return true;
  }
}

interface LockHolder {
  pid: number | undefined;
  content: string;
  mtimeMs: number;
}

async function readLock(lockPath: string): Promise<LockHolder | undefined> {
  try {
    const [content, info] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
    const pid = /^\d+$/.test(content.trim()) ? Number(content.trim()) : undefined;
    return { pid: pid !== undefined && pid > 0 ? pid : undefined, content, mtimeMs: info.mtimeMs };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function isLockAlive(holder: LockHolder): boolean {
  if (holder.pid === undefined) return Date.now() - holder.mtimeMs < EMPTY_LOCK_GRACE_MS;
  if (holder.pid === process.pid) {
    // Our own pid is either another instance in this process or, after a container restart
    // (pid 1 again), the previous incarnation's: only a lock written since we started is ours.
    return holder.mtimeMs >= performance.timeOrigin - OWN_LOCK_CLOCK_SLACK_MS;
  }
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return errorCode(error) !== 'ESRCH';
  }
}

/** Removes the file only if it still holds `content`; resolves whether it was removed. */
async function unlinkIfUnchanged(path: string, content: string): Promise<boolean> {
  try {
    if ((await readFile(path, 'utf8')) !== content) return false;
    await unlink(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}
