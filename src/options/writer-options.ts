import type { AuditModuleOptions, ResolvedAuditOptions } from '../audit.options';
import { fail, oneOf, positiveInteger } from './option-checks';

/** The options of the write path: commits, the async queue, the spool and shutdown. */
export type ResolvedWriterOptions = Pick<
  ResolvedAuditOptions,
  | 'durability'
  | 'maxBatch'
  | 'flushIntervalMs'
  | 'maxQueue'
  | 'onQueueFull'
  | 'onStoreFailure'
  | 'spoolPath'
  | 'spoolMaxBytes'
  | 'retryIntervalMs'
  | 'shutdownTimeoutMs'
>;

/** Validates how events reach the store and what happens when it cannot take them. */
export function resolveWriterOptions(options: AuditModuleOptions): ResolvedWriterOptions {
  const maxBatch = positiveInteger('maxBatch', options.maxBatch, 100, 1);
  const maxQueue = positiveInteger('maxQueue', options.maxQueue, 10_000, 1);
  if (maxQueue < maxBatch) {
    fail(
      'maxQueue',
      `(${maxQueue}) is smaller than maxBatch (${maxBatch})`,
      'Raise maxQueue or lower maxBatch.',
    );
  }
  return {
    durability: oneOf('durability', options.durability, ['ack', 'async'] as const, 'ack'),
    maxBatch,
    flushIntervalMs: positiveInteger('flushIntervalMs', options.flushIntervalMs, 100, 1),
    maxQueue,
    onQueueFull: oneOf('onQueueFull', options.onQueueFull, ['block', 'drop'] as const, 'block'),
    ...resolveFailureOptions(options),
    shutdownTimeoutMs: positiveInteger('shutdownTimeoutMs', options.shutdownTimeoutMs, 10_000, 0),
  };
}

/** What happens when the store cannot commit: fail, or spool and retry. */
function resolveFailureOptions(
  options: AuditModuleOptions,
): Pick<
  ResolvedWriterOptions,
  'onStoreFailure' | 'spoolPath' | 'spoolMaxBytes' | 'retryIntervalMs'
> {
  const spoolPath = options.spoolPath ?? './audit.spool';
  if (typeof spoolPath !== 'string' || spoolPath.trim() === '') {
    fail('spoolPath', 'must be a file path', 'Example: spoolPath: "/var/lib/app/audit.spool".');
  }
  return {
    onStoreFailure: oneOf(
      'onStoreFailure',
      options.onStoreFailure,
      ['fail', 'spool'] as const,
      'fail',
    ),
    spoolPath,
    spoolMaxBytes: positiveInteger(
      'spoolMaxBytes',
      options.spoolMaxBytes,
      256 * 1024 * 1024,
      64 * 1024,
    ),
    retryIntervalMs: positiveInteger('retryIntervalMs', options.retryIntervalMs, 1000, 10),
  };
}
