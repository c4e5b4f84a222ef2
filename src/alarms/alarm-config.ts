import { auditOptionChecks as check } from '../audit-configuration-checks';
import type { KnownKeys } from '../common/option-checks';
import {
  compileAlarmRateLimit,
  DEFAULT_ALARM_RATE_LIMIT,
  type CompiledAlarmRateLimit,
} from './alarm-rate-limit';
import { DEFAULT_MAX_OPEN_WINDOWS } from './threshold-windows';
import type { AlarmChannelConfig, AlarmRule, AuditAlarmOptions } from './alarm-options';
import { destinationPolicy, type DestinationPolicy } from './notifiers/destination-guard';

/** The `alarms` option after validation and defaults. */
export interface ResolvedAlarmOptions {
  rules: readonly AlarmRule[];
  channels: Readonly<Record<string, AlarmChannelConfig>>;
  maxAttempts: number;
  backoff: { initialMs: number; maxMs: number };
  pollIntervalMs: number;
  viewerUrl?: string;
  digestListSize: number;
  maxOpenWindowsPerRule: number;
  dispatch: boolean;
  leaseMs?: number;
  /** `alarms.rateLimit`, read: the limit of rules without their own, or false for none. */
  rateLimit: CompiledAlarmRateLimit | false;
  /** `allowPrivateNetworks`, compiled. */
  destinations: DestinationPolicy;
}

/** The keys of `alarms`: `satisfies` makes an option missing here a compile error. */
const KNOWN_KEYS: KnownKeys = {
  rules: true,
  channels: true,
  maxAttempts: true,
  backoff: true,
  pollIntervalMs: true,
  viewerUrl: true,
  digestListSize: true,
  maxOpenWindowsPerRule: true,
  dispatch: true,
  leaseMs: true,
  rateLimit: true,
  allowPrivateNetworks: true,
} satisfies Record<keyof AuditAlarmOptions, true>;

const KNOWN_BACKOFF_KEYS: KnownKeys = {
  initialMs: true,
  maxMs: true,
} satisfies Record<keyof NonNullable<AuditAlarmOptions['backoff']>, true>;

function resolveDestinations(value: unknown): DestinationPolicy {
  const example =
    "Example: allowPrivateNetworks: ['10.20.0.0/16', 'fd00::/8', 'relay.internal'], or true to allow every destination.";
  if (value !== undefined && typeof value !== 'boolean' && !Array.isArray(value)) {
    check.mismatch('alarms.allowPrivateNetworks', 'true, false or an array', value, example);
  }
  const policy = destinationPolicy(value as boolean | readonly string[] | undefined);
  if ('invalid' in policy) {
    check.fail(
      'alarms.allowPrivateNetworks',
      `has an entry that is neither an IP address, a CIDR range nor a host name (${policy.invalid})`,
      example,
    );
  }
  return policy;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The `alarms` option is an object of known keys, with `rules` a list and `channels` a map. */
function checkShape(input: unknown): asserts input is AuditAlarmOptions {
  if (!isRecord(input)) {
    check.fail(
      'alarms',
      'must be an object',
      "Example: alarms: { channels: { ops: { type: 'slack', webhookUrl } }, rules: [{ name: 'invoice-void', action: 'invoice.void', channels: ['ops'] }] }.",
    );
  }
  check.knownKeys(input, KNOWN_KEYS, (key) => `alarms.${key}`);
  if (input.rules !== undefined && !Array.isArray(input.rules)) {
    check.fail(
      'alarms.rules',
      'must be an array of rules',
      'Example: rules: [{ name, action, channels }].',
    );
  }
  if (input.channels !== undefined && !isRecord(input.channels)) {
    check.fail(
      'alarms.channels',
      'must be an object of named channels',
      "Example: channels: { ops: { type: 'slack', webhookUrl } }.",
    );
  }
}

function resolveBackoff(value: unknown): ResolvedAlarmOptions['backoff'] {
  const backoff: unknown = value ?? {};
  if (!isRecord(backoff)) {
    check.fail(
      'alarms.backoff',
      'must be an object',
      'Example: backoff: { initialMs: 1000, maxMs: 300000 }.',
    );
  }
  check.knownKeys(backoff, KNOWN_BACKOFF_KEYS, (key) => `alarms.backoff.${key}`);
  const initialMs = check.wholeNumber('alarms.backoff.initialMs', backoff.initialMs, {
    fallback: 1000,
    min: 1,
    max: 86_400_000,
  });
  const maxMs = check.wholeNumber('alarms.backoff.maxMs', backoff.maxMs, {
    fallback: 300_000,
    min: 1,
    max: 86_400_000,
  });
  if (maxMs < initialMs) {
    check.fail(
      'alarms.backoff.maxMs',
      `(${maxMs}) is below initialMs (${initialMs})`,
      'Raise maxMs.',
    );
  }
  return { initialMs, maxMs };
}

/** An absolute http(s) URL, ending with `/` so the viewer's relative paths resolve under it. */
function resolveViewerUrl(value: unknown): string {
  let parsed: URL | undefined;
  try {
    parsed = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    check.mismatch(
      'alarms.viewerUrl',
      'an absolute http(s) URL',
      value,
      "Example: viewerUrl: 'https://admin.example.com/audit/'.",
    );
  }
  return parsed.href.endsWith('/') ? parsed.href : `${parsed.href}/`;
}

/** The numeric settings of delivery and threshold windows, each with its default and range. */
function resolveLimits(
  options: AuditAlarmOptions,
): Pick<
  ResolvedAlarmOptions,
  'maxAttempts' | 'pollIntervalMs' | 'digestListSize' | 'maxOpenWindowsPerRule'
> {
  return {
    maxAttempts: check.wholeNumber('alarms.maxAttempts', options.maxAttempts, {
      fallback: 8,
      min: 1,
      max: 1000,
    }),
    pollIntervalMs: check.wholeNumber('alarms.pollIntervalMs', options.pollIntervalMs, {
      fallback: 1000,
      min: 10,
      max: 3_600_000,
    }),
    digestListSize: check.wholeNumber('alarms.digestListSize', options.digestListSize, {
      fallback: 10,
      min: 1,
      max: 100,
    }),
    maxOpenWindowsPerRule: check.wholeNumber(
      'alarms.maxOpenWindowsPerRule',
      options.maxOpenWindowsPerRule,
      { fallback: DEFAULT_MAX_OPEN_WINDOWS, min: 1, max: 10_000_000 },
    ),
  };
}

/**
 * Validates the shape and the numeric settings of the `alarms` option. Rules and channels are
 * checked in depth by the rule compiler and the notifier factory, at the same boot.
 * @returns undefined when alarms are not configured.
 */
export function resolveAlarmOptions(input: unknown): ResolvedAlarmOptions | undefined {
  if (input === undefined || input === null || input === false) return undefined;
  checkShape(input);
  const backoff = resolveBackoff(input.backoff);
  const viewerUrl = input.viewerUrl === undefined ? undefined : resolveViewerUrl(input.viewerUrl);
  const dispatch = check.optionalBoolean(
    'alarms.dispatch',
    input.dispatch,
    true,
    'Remove it to dispatch in this process.',
  );
  return {
    rules: input.rules ?? [],
    channels: input.channels ?? {},
    backoff,
    ...(viewerUrl === undefined ? {} : { viewerUrl }),
    ...resolveLimits(input),
    dispatch,
    rateLimit:
      input.rateLimit === undefined
        ? DEFAULT_ALARM_RATE_LIMIT
        : compileAlarmRateLimit('option "alarms.rateLimit"', input.rateLimit),
    destinations: resolveDestinations(input.allowPrivateNetworks),
    ...(input.leaseMs === undefined
      ? {}
      : {
          leaseMs: check.wholeNumber('alarms.leaseMs', input.leaseMs, {
            fallback: 60_000,
            min: 100,
            max: 86_400_000,
          }),
        }),
  };
}
