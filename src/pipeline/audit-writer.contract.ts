import type { AuditPipelineFailure } from '../ecs/pipeline-failure.formatter';
import type { AuditEvent } from '../event/audit-event';
import { AuditError } from '../common/audit-error';

/** How a write ended: committed to the store, fsynced to the spool, queued (async) or dropped. */
export type AuditWriteReceipt = 'committed' | 'spooled' | 'queued' | 'dropped';

/** Settings of {@link AuditWriter}; see the module options of the same names. */
export interface AuditWriterSettings {
  durability: 'ack' | 'async';
  maxBatch: number;
  flushIntervalMs: number;
  maxQueue: number;
  onQueueFull: 'block' | 'drop';
  retryIntervalMs: number;
}

/** Counters and state of the write path, as `AuditService.health()` reports them. */
export interface AuditWriterStats {
  /** Events committed to the store (directly or by spool replay). */
  committed: number;
  /** Events whose commit attempt failed (each attempt counts). */
  failed: number;
  /** Store transactions run. */
  commits: number;
  /** Events waiting in memory for a commit. */
  pending: number;
  /** Events discarded because the async queue was full (`onQueueFull: 'drop'`). */
  dropped: number;
  /** Events that could not be committed nor spooled and are gone (only at shutdown in async mode). */
  lost: number;
  /** Events written to the spool. */
  spooled: number;
  /** Events replayed from the spool into the store. */
  replayed: number;
  /** Message of the last failure. */
  lastError?: string;
  /** When the last failure happened (ISO-8601). */
  lastErrorAt?: string;
  /** When the last successful commit happened (ISO-8601). */
  lastCommitAt?: string;
  /** True while the store is known to be failing and events are diverted or retried. */
  degraded: boolean;
}

/** Thrown to the writer of an event that could neither be committed nor spooled. */
export class AuditCommitError extends AuditError {
  override readonly name = 'AuditCommitError';
  override readonly code = 'AUDIT_COMMIT_FAILED';

  constructor(
    message: string,
    /** Ids of the events of the failed batch. */
    readonly eventIds: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Where the writer sends ECS lines (the module's `AuditStream`). A line is written only for an
 * event that was committed or spooled (`ack`) or queued (`async`); an event that is lost gets a
 * failure line instead. The writer waits on `whenWritable()` so a slow stream slows the write
 * path down rather than losing lines.
 */
export interface AuditLinePort {
  /** Writes the lines of events that were kept, in order. */
  writeEvents(events: readonly AuditEvent[]): void;
  /** Writes the `audit.pipeline_failure` line naming events that were lost. */
  writeFailure(failure: AuditPipelineFailure): void;
  /** `undefined` while the stream can take more lines, else resolves once it can. */
  whenWritable(): Promise<void> | undefined;
}

/** Optional collaborators of {@link AuditWriter}. */
export interface AuditWriterHooks {
  /** Receives the write path's log messages (the pipeline sends them to the Nest logger). */
  report?: (level: 'error' | 'warn' | 'log', message: string) => void;
  /** Called after a commit that stored alarm outbox entries (to wake the dispatcher). */
  onAlarmsStored?: () => void;
  /** The ECS stream; without it no line is written. */
  lines?: AuditLinePort;
}

/** A line port that writes nothing (no stream configured). */
export const NO_LINES: AuditLinePort = {
  writeEvents: () => undefined,
  writeFailure: () => undefined,
  whenWritable: () => undefined,
};
