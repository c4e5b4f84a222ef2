import type { AuditModuleOptions, ResolvedAuditOptions } from '../audit.options';
import { readNestedGroup, type GivenSetting, type NestedOptionGroup } from './nested-option';
import { auditOptionChecks as check } from '../audit-configuration-checks';

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

/** `durability`, whose `'async'` mode alone has settings. */
const DURABILITY: NestedOptionGroup = {
  option: 'durability',
  key: 'mode',
  modes: ['ack', 'async'],
  mode: 'async',
  settings: {
    flushIntervalMs: 'flushIntervalMs',
    maxQueue: 'maxQueue',
    onQueueFull: 'onQueueFull',
  },
  example: "{ mode: 'async', flushIntervalMs: 100, maxQueue: 10000, onQueueFull: 'block' }",
};

/** `onStoreFailure`, whose `'spool'` policy alone has settings. */
const STORE_FAILURE: NestedOptionGroup = {
  option: 'onStoreFailure',
  key: 'policy',
  modes: ['fail', 'spool'],
  mode: 'spool',
  settings: { path: 'spoolPath', maxBytes: 'spoolMaxBytes' },
  example: "{ policy: 'spool', path: './audit.spool', maxBytes: 268435456 }",
};

/**
 * Validates how events reach the store and what happens when it cannot take them.
 * @param warn receives one warning per deprecated flat option used (`maxQueue`, `spoolPath`, …).
 */
export function resolveWriterOptions(
  options: AuditModuleOptions,
  warn: (message: string) => void,
): ResolvedWriterOptions {
  const given = options as Readonly<Record<string, unknown>>;
  const durability = readNestedGroup(given, DURABILITY, warn);
  const maxBatch = check.wholeNumber('maxBatch', options.maxBatch, { fallback: 100, min: 1 });
  const queue = durability.settings.maxQueue as GivenSetting;
  const maxQueue = check.wholeNumber(queue.option, queue.value, { fallback: 10_000, min: 1 });
  if (maxQueue < maxBatch) {
    check.fail(
      queue.option,
      `(${maxQueue}) is smaller than maxBatch (${maxBatch})`,
      `Raise ${queue.option} or lower maxBatch.`,
    );
  }
  const flush = durability.settings.flushIntervalMs as GivenSetting;
  const full = durability.settings.onQueueFull as GivenSetting;
  return {
    durability: check.oneOf('durability', durability.mode, ['ack', 'async'] as const, 'ack'),
    maxBatch,
    flushIntervalMs: check.wholeNumber(flush.option, flush.value, { fallback: 100, min: 1 }),
    maxQueue,
    onQueueFull: check.oneOf(full.option, full.value, ['block', 'drop'] as const, 'block'),
    ...resolveFailureOptions(given, warn),
    shutdownTimeoutMs: check.wholeNumber('shutdownTimeoutMs', options.shutdownTimeoutMs, {
      fallback: 10_000,
      min: 0,
    }),
  };
}

/** What happens when the store cannot commit: fail, or spool and retry. */
function resolveFailureOptions(
  options: Readonly<Record<string, unknown>>,
  warn: (message: string) => void,
): Pick<
  ResolvedWriterOptions,
  'onStoreFailure' | 'spoolPath' | 'spoolMaxBytes' | 'retryIntervalMs'
> {
  const failure = readNestedGroup(options, STORE_FAILURE, warn);
  const path = failure.settings.path as GivenSetting;
  const spoolPath = path.value ?? './audit.spool';
  if (typeof spoolPath !== 'string' || spoolPath.trim() === '') {
    check.fail(
      path.option,
      'must be a file path',
      `Example: onStoreFailure: { policy: 'spool', path: '/var/lib/app/audit.spool' }.`,
    );
  }
  const maxBytes = failure.settings.maxBytes as GivenSetting;
  return {
    onStoreFailure: check.oneOf('onStoreFailure', failure.mode, ['fail', 'spool'] as const, 'fail'),
    spoolPath,
    spoolMaxBytes: check.wholeNumber(maxBytes.option, maxBytes.value, {
      fallback: 256 * 1024 * 1024,
      min: 64 * 1024,
    }),
    retryIntervalMs: check.wholeNumber('retryIntervalMs', options.retryIntervalMs, {
      fallback: 1000,
      min: 10,
    }),
  };
}
