import { hostname } from 'node:os';
import type { BackoffSettings } from './backoff';
import { AuditConfigurationError } from '../common/audit-configuration.error';
import { describe } from '../common/option-checks';

/** Settings of the alarm dispatcher; most mirror the `alarms` module options. */
export interface AlarmDispatcherSettings {
  /** Attempts per message before it is dead-lettered (`alarms.maxAttempts`). */
  maxAttempts: number;
  /** Retry backoff (`alarms.backoff`). */
  backoff: BackoffSettings;
  /** Time between two looks at the outbox when nothing woke the dispatcher (`alarms.pollIntervalMs`). */
  pollIntervalMs: number;
  /** How many members a digest message lists (`alarms.digestListSize`). */
  digestListSize: number;
  /**
   * Longest time one attempt may take on a channel without its own timeout, in milliseconds:
   * the send's `AbortSignal` is aborted then and the attempt counts as failed.
   * @default 10000
   */
  timeoutMs?: number;
  /** Per-channel attempt timeouts (the channels' `timeoutMs`), overriding `timeoutMs`. */
  channelTimeoutMs?: Readonly<Record<string, number>>;
  /**
   * How long a claimed message stays reserved for this dispatcher. Another instance sends it
   * once the lease expired without a settlement (this one crashed or was stopped mid-send), so
   * it must be longer than the longest attempt.
   * @default the larger of 60000 and twice the longest timeout
   */
  leaseMs?: number;
  /**
   * Messages sent at the same time, over all channels.
   * @default 4
   */
  concurrency?: number;
  /**
   * Messages sent at the same time on one channel. A slow or hanging channel holds at most this
   * many of the `concurrency` slots, each for at most its timeout, and the others stay free for
   * the other channels: the channels at this limit are left out of the next claims
   * (`excludeChannels`) until one of their sends ends. A value of `concurrency` or more only
   * limits by `concurrency`.
   * @default half of `concurrency`, rounded down, at least 1 (2 for the default 4)
   */
  channelConcurrency?: number;
  /**
   * Most messages claimed in one look at the outbox (never more than the free send slots).
   * @default 20
   */
  batchSize?: number;
  /** Names this process in leases, for operators. @default `<hostname>:<pid>` */
  owner?: string;
  /**
   * How often the outbox counts of the dispatcher's `stats()` are refreshed from the store.
   * @default 5000
   */
  statsIntervalMs?: number;
}

/** How long one attempt may take: per channel, else the default. */
export interface AttemptTimeouts {
  /** Attempt timeout of a channel that sets none, in milliseconds. */
  defaultTimeoutMs: number;
  /** The channels' own attempt timeouts, in milliseconds. */
  channelTimeoutMs: Readonly<Record<string, number>>;
}

/** How many sends may run at once, and how many messages one claim may take. */
export interface SendSlotLimits {
  /** Sends at the same time, over all channels. */
  concurrency: number;
  /** Sends at the same time on one channel. */
  channelConcurrency: number;
  /** Most messages claimed in one look at the outbox. */
  batchSize: number;
}

/** {@link AlarmDispatcherSettings} checked, with every default filled in. */
export interface ResolvedDispatcherSettings extends AttemptTimeouts, SendSlotLimits {
  maxAttempts: number;
  backoff: BackoffSettings;
  pollIntervalMs: number;
  digestListSize: number;
  leaseMs: number;
  owner: string;
  statsIntervalMs: number;
}

/** Attempt timeout of a channel that sets none, in milliseconds. */
export const DEFAULT_ALARM_TIMEOUT_MS = 10_000;
const DEFAULT_CONCURRENCY = 4;
const DEFAULT_BATCH_SIZE = 20;
const DEFAULT_STATS_INTERVAL_MS = 5_000;

function settingError(name: string, problem: string): AuditConfigurationError {
  return new AuditConfigurationError(
    `nestjs-audit: alarm dispatcher setting "${name}" ${problem}.`,
  );
}

function positive(name: string, value: unknown, fallback?: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw settingError(name, `must be a whole number above 0, got ${describe(value)}`);
  }
  return v;
}

/** The timeout of one attempt on `channel`. */
export function attemptTimeoutOf(channel: string, timeouts: AttemptTimeouts): number {
  return timeouts.channelTimeoutMs[channel] ?? timeouts.defaultTimeoutMs;
}

/**
 * The longest time one attempt may take on any of `channels`: a channel's own timeout, else the
 * default. A lease must outlast it, or a second instance could send a message still in flight.
 */
export function longestAttemptTimeout(
  channels: Iterable<string>,
  channelTimeoutMs: Readonly<Record<string, number>>,
  defaultTimeoutMs: number,
): { channel?: string; timeoutMs: number } {
  let longest: { channel?: string; timeoutMs: number } = { timeoutMs: 0 };
  for (const channel of channels) {
    const timeoutMs = attemptTimeoutOf(channel, { channelTimeoutMs, defaultTimeoutMs });
    if (timeoutMs > longest.timeoutMs) longest = { channel, timeoutMs };
  }
  // With no channel (yet), the default is what any send would get.
  return longest.channel === undefined ? { timeoutMs: defaultTimeoutMs } : longest;
}

/** The attempt timeouts and the lease that outlasts the longest of them. */
function resolveTimeouts(
  settings: AlarmDispatcherSettings,
  channels: Iterable<string>,
): AttemptTimeouts & { leaseMs: number } {
  const defaultTimeoutMs = positive('timeoutMs', settings.timeoutMs, DEFAULT_ALARM_TIMEOUT_MS);
  const channelTimeoutMs = { ...settings.channelTimeoutMs };
  for (const [channel, ms] of Object.entries(channelTimeoutMs)) {
    positive(`channelTimeoutMs.${channel}`, ms);
  }
  const longest = longestAttemptTimeout(
    new Set([...channels, ...Object.keys(channelTimeoutMs)]),
    channelTimeoutMs,
    defaultTimeoutMs,
  ).timeoutMs;
  const leaseMs = positive('leaseMs', settings.leaseMs, Math.max(60_000, 2 * longest));
  if (leaseMs <= longest) {
    throw settingError(
      'leaseMs',
      `(${leaseMs}) must be longer than the longest channel timeout (${longest}), or another instance would send a message while this one still waits for it`,
    );
  }
  return { defaultTimeoutMs, channelTimeoutMs, leaseMs };
}

function resolveSlotLimits(settings: AlarmDispatcherSettings): SendSlotLimits {
  const concurrency = positive('concurrency', settings.concurrency, DEFAULT_CONCURRENCY);
  const channelConcurrency = positive(
    'channelConcurrency',
    settings.channelConcurrency,
    Math.max(1, Math.floor(concurrency / 2)),
  );
  const batchSize = positive('batchSize', settings.batchSize, DEFAULT_BATCH_SIZE);
  return { concurrency, channelConcurrency, batchSize };
}

/**
 * Checks `settings` and fills in the defaults.
 * @param channels the configured channel names (their timeouts bound the lease).
 * @throws AuditConfigurationError naming the first setting out of range.
 */
export function resolveDispatcherSettings(
  settings: AlarmDispatcherSettings,
  channels: Iterable<string>,
): ResolvedDispatcherSettings {
  const maxAttempts = positive('maxAttempts', settings.maxAttempts);
  const pollIntervalMs = positive('pollIntervalMs', settings.pollIntervalMs);
  positive('backoff.initialMs', settings.backoff?.initialMs);
  positive('backoff.maxMs', settings.backoff?.maxMs);
  if (!Number.isInteger(settings.digestListSize) || settings.digestListSize < 0) {
    throw settingError('digestListSize', 'must be a whole number from 0');
  }
  const timeouts = resolveTimeouts(settings, channels);
  const limits = resolveSlotLimits(settings);
  return {
    maxAttempts,
    backoff: settings.backoff,
    pollIntervalMs,
    digestListSize: settings.digestListSize,
    ...timeouts,
    ...limits,
    owner: settings.owner ?? `${hostname()}:${process.pid}`,
    statsIntervalMs: positive(
      'statsIntervalMs',
      settings.statsIntervalMs,
      DEFAULT_STATS_INTERVAL_MS,
    ),
  };
}
