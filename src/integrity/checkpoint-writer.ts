import { DEFAULT_FILE_MODE } from '../common/file-mode';
import { appendFile } from 'node:fs/promises';
import { CoalescedRun } from '../common/coalesced-run';
import { signCheckpoint, type AuditCheckpoint } from './checkpoint';
import type { ResolvedCheckpointOptions } from './checkpoint-options';
import type { AuditChainSource } from './chain-source';
import { messageOf } from '../common/message-of';

/** Where checkpoints go besides the optional file, and where problems are told. */
export interface CheckpointOutput {
  /** Writes the checkpoint's line to the audit stream. */
  line(checkpoint: AuditCheckpoint): void;
  /** Reports a checkpoint that could not be taken or filed (the next one tries again). */
  warn(message: string): void;
  /** Permissions of the checkpoints `file` when it is created (default 0o600). */
  fileMode?: number;
}

/**
 * Takes checkpoints of a store's chain head: after every `everyEvents` events written, every
 * `intervalMs` (also when idle) and when closed; one at a time. A store that chains after commit
 * (PostgreSQL) is sealed first, so the checkpoint covers what was written.
 */
export class CheckpointWriter {
  private timer: NodeJS.Timeout | undefined;
  private written = 0;
  private readonly run = new CoalescedRun(() => this.take());

  constructor(
    private readonly source: AuditChainSource,
    private readonly options: ResolvedCheckpointOptions,
    private readonly out: CheckpointOutput,
  ) {}

  /** Starts the periodic checkpoints. */
  start(): void {
    this.timer = setInterval(() => this.run.request(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Counts events written; takes a checkpoint once `everyEvents` were. */
  noteEvents(count: number): void {
    this.written += count;
    if (this.written >= this.options.everyEvents) this.run.request();
  }

  /** Stops the timer and takes the last checkpoint (after the one running, if any). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.run.idle();
    await this.take();
  }

  private async take(): Promise<void> {
    this.written = 0;
    let checkpoint: AuditCheckpoint;
    try {
      await this.source.seal?.();
      const head = await this.source.chainHead();
      checkpoint = {
        seq: head?.seq ?? 0,
        hash: head === undefined ? '' : Buffer.from(head.hash).toString('hex'),
        at: new Date().toISOString(),
      };
      const { signingKey, keyId } = this.options;
      if (signingKey !== undefined) checkpoint = signCheckpoint(checkpoint, signingKey, keyId);
    } catch (error) {
      this.out.warn(
        `could not take an audit checkpoint: ${messageOf(error)}; the next one tries again.`,
      );
      return;
    }
    this.out.line(checkpoint);
    if (this.options.file === undefined) return;
    try {
      await appendFile(this.options.file, `${JSON.stringify(checkpoint)}\n`, {
        mode: this.out.fileMode ?? DEFAULT_FILE_MODE,
      });
    } catch (error) {
      this.out.warn(
        `could not append an audit checkpoint to ${this.options.file}: ${messageOf(error)}.`,
      );
    }
  }
}
