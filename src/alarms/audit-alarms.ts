import { AuditLogger } from '../common/audit-logger';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleInit,
  type Type,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AuditConfigurationError } from '../common/audit-configuration.error';
import { AUDIT_RESOLVED_OPTIONS } from '../audit.constants';
import type { ResolvedAuditOptions } from '../audit.options';
import type { AuditEvent } from '../event/audit-event';
import type { AuditChangeSet } from '../event/change-set';
import { noAlarmOutboxFix } from '../stores/alarm-outbox';
import { AuditStore } from '../stores/audit-store';
import type { ResolvedAlarmOptions } from './alarm-config';
import { foldDigest } from './alarm-digest';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import { AlarmRateLimiter, type CompiledAlarmRateLimit } from './alarm-rate-limit';
import { compileAlarmRules, type CompiledAlarmRules } from './alarm-rule';
import { DEFAULT_ALARM_TIMEOUT_MS, longestAttemptTimeout } from './alarm-dispatcher-settings';
import type { AlarmDispatcherStats } from './alarm-dispatcher-stats';
import { AlarmDispatcher } from './alarm-dispatcher';
import { AlarmEngine } from './alarm-engine';
import { manualAlarmEntries, type ManualAlarmInput } from './manual-alarm';
import { AlarmInputError } from '../common/alarm-input.error';
import { AlarmNotifier } from './notifiers/alarm-notifier';
import {
  createBuiltInNotifier,
  isBuiltInChannelConfig,
  validateChannelConfig,
} from './notifiers/create-notifier';
import { messageOf } from '../common/message-of';

/** What `AuditService.health()` reports about alarms, when they are configured. */
export interface AuditAlarmHealth extends AlarmDispatcherStats {
  /**
   * `up`; `degraded` once an alarm was dead-lettered (it will not be retried: look at
   * `lastError` and the dead entries) or while the dispatcher cannot settle deliveries.
   */
  status: 'up' | 'degraded';
  /** `audit.alarm_dead_letter` while the status is `degraded`. */
  condition?: 'audit.alarm_dead_letter';
  /** Whether this process delivers (`alarms.dispatch`). */
  dispatching: boolean;
}

/** How long shutdown waits for alarm sends in flight before aborting them (they are retried). */
const STOP_DEADLINE_MS = 5_000;

/**
 * The alarms of one application: rules compiled at boot, the notifier of each channel, and the
 * background dispatcher that delivers what the pipeline wrote to the store's outbox. Inert when
 * the `alarms` option is not set.
 */
@Injectable()
export class AuditAlarms implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new AuditLogger();
  private readonly settings: ResolvedAlarmOptions | undefined;
  private readonly compiled: CompiledAlarmRules | undefined;
  private readonly engine: AlarmEngine | undefined;
  private readonly rateLimiter: AlarmRateLimiter | undefined;
  private readonly notifiers = new Map<string, AlarmNotifier>();
  private dispatcher: AlarmDispatcher | undefined;

  constructor(
    @Inject(AUDIT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditOptions,
    private readonly store: AuditStore,
    private readonly moduleRef: ModuleRef,
  ) {
    this.settings = options.alarms;
    if (!this.settings) return;
    if (store.alarmOutbox === undefined) {
      throw new AuditConfigurationError(
        `nestjs-audit: option "alarms" needs ${noAlarmOutboxFix(store)}`,
      );
    }
    for (const [name, config] of Object.entries(this.settings.channels)) {
      validateChannelConfig(name, config, this.settings.destinations);
    }
    this.checkLease(this.settings);
    this.compiled = compileAlarmRules(this.settings.rules, Object.keys(this.settings.channels), {
      serviceName: options.serviceName,
      ...(this.settings.viewerUrl === undefined ? {} : { viewerUrl: this.settings.viewerUrl }),
      digestListSize: this.settings.digestListSize,
    });
    this.rateLimiter = new AlarmRateLimiter(ruleRateLimits(this.compiled, this.settings.rateLimit));
    this.engine = new AlarmEngine(this.compiled, {
      maxOpenWindowsPerRule: this.settings.maxOpenWindowsPerRule,
      onRuleError: (rule, error) =>
        this.logger.error(
          `nestjs-audit: alarm rule "${rule}" failed on an event and was skipped for it: ${messageOf(error)}. Fix its "when" predicate.`,
        ),
    });
  }

  /** Whether the `alarms` option is set. */
  get enabled(): boolean {
    return this.settings !== undefined;
  }

  /** Resolves the notifiers (custom ones through the Nest container) and builds the dispatcher. */
  async onModuleInit(): Promise<void> {
    const settings = this.settings;
    const compiled = this.compiled;
    if (!settings || !compiled) return;
    for (const [name, config] of Object.entries(settings.channels)) {
      this.notifiers.set(
        name,
        isBuiltInChannelConfig(config)
          ? createBuiltInNotifier(name, config, settings.destinations)
          : await this.resolveCustom(name, config),
      );
    }
    const channelTimeoutMs = channelTimeouts(settings);
    this.dispatcher = new AlarmDispatcher(
      this.store,
      this.notifiers,
      {
        maxAttempts: settings.maxAttempts,
        backoff: settings.backoff,
        pollIntervalMs: settings.pollIntervalMs,
        digestListSize: settings.digestListSize,
        channelTimeoutMs,
        ...(settings.leaseMs === undefined ? {} : { leaseMs: settings.leaseMs }),
      },
      (members, total) =>
        foldDigest(members, total, {
          digestListSize: settings.digestListSize,
          ...(compiled.viewerUrl === undefined ? {} : { viewerUrl: compiled.viewerUrl }),
        }),
      (level, message) => this.logger[level](message),
    );
  }

  /** Starts delivering once the application is up (unless `alarms.dispatch` is false). */
  onApplicationBootstrap(): void {
    if (this.settings?.dispatch) this.dispatcher?.start();
  }

  /**
   * The outbox entries an event raises; `undefined` when it raises none.
   *
   * @param event - the event as it is stored
   * @param changes - its complete change set, taken from the built event with
   *   `takeAuditChangeSet(event)`: the rules then run on every change before the size caps cut
   *   anything, so no watched field can hide behind thousands of others
   */
  evaluate(event: AuditEvent, changes?: AuditChangeSet): AlarmOutboxEntry[] | undefined {
    if (!this.engine) return undefined;
    const entries = this.engine.evaluate(event, undefined, changes);
    if (entries.length === 0) return undefined;
    this.rateLimiter?.apply(entries);
    return entries;
  }

  /**
   * The outbox entries of an alarm raised by application code.
   * @throws AlarmInputError for invalid input, or when no alarms are configured.
   */
  manualEntries(input: ManualAlarmInput): AlarmOutboxEntry[] {
    const settings = this.settings;
    if (!settings) {
      throw new AlarmInputError(
        'AuditService.alarm(): no alarms are configured. Add channels under the "alarms" option of AuditModule.forRoot().',
      );
    }
    return manualAlarmEntries(input, {
      serviceName: this.options.serviceName,
      channels: Object.keys(settings.channels),
      ...(this.compiled?.viewerUrl === undefined ? {} : { viewerUrl: this.compiled.viewerUrl }),
    });
  }

  /** Asks the dispatcher to look at the outbox now (after a commit that stored alarms). */
  wake(): void {
    this.dispatcher?.wake();
  }

  /** Delivery state, or `undefined` without alarms. */
  health(): AuditAlarmHealth | undefined {
    if (!this.settings || !this.dispatcher) return undefined;
    const stats = this.dispatcher.stats();
    const dead = Math.max(stats.dead, stats.outbox?.dead ?? 0);
    const degraded = dead > 0 || stats.unsettled > 0;
    return {
      status: degraded ? 'degraded' : 'up',
      ...(degraded ? { condition: 'audit.alarm_dead_letter' as const } : {}),
      dispatching: this.settings.dispatch,
      ...stats,
    };
  }

  /**
   * Stops the dispatcher (sends in flight get a few seconds, then are aborted and retried by the
   * next run) and closes the notifiers. Called by the pipeline before it closes the store.
   */
  async stop(): Promise<void> {
    await this.dispatcher?.stop(STOP_DEADLINE_MS);
    const closing = [...this.notifiers.values()].map((notifier) => notifier.close());
    for (const result of await Promise.allSettled(closing)) {
      if (result.status === 'rejected') {
        this.logger.warn(
          `nestjs-audit: closing an alarm notifier failed: ${messageOf(result.reason)}`,
        );
      }
    }
  }

  /** The dispatcher would refuse the same lease later; this says it in terms of the option. */
  private checkLease(settings: ResolvedAlarmOptions): void {
    if (settings.leaseMs === undefined) return;
    const longest = longestAttemptTimeout(
      Object.keys(settings.channels),
      channelTimeouts(settings),
      DEFAULT_ALARM_TIMEOUT_MS,
    );
    if (settings.leaseMs <= longest.timeoutMs) {
      throw new AuditConfigurationError(
        `nestjs-audit: option "alarms.leaseMs" (${settings.leaseMs}) must be longer than every channel's attempt timeout, and channel "${longest.channel ?? '(any)'}" may take ${longest.timeoutMs} ms. Raise leaseMs, or lower that channel's timeoutMs.`,
      );
    }
  }

  private async resolveCustom(name: string, config: unknown): Promise<AlarmNotifier> {
    let notifier: unknown = config;
    if (typeof config === 'function') {
      const type = config as Type<AlarmNotifier>;
      try {
        // Registered as a provider somewhere: use that instance (and its scope).
        notifier = this.moduleRef.get(type, { strict: false });
      } catch {
        // Not a provider: instantiate it here. Only dependencies visible to AuditModule (global
        // providers) resolve this way, hence the hint below.
        try {
          notifier = await this.moduleRef.create(type);
        } catch (error) {
          throw new AuditConfigurationError(
            `nestjs-audit: option "alarms.channels.${name}": could not create ${type.name || 'the notifier class'} (${error instanceof Error ? error.message.split('\n')[0] : String(error)}). List the class in the providers of one of your modules so its dependencies resolve there.`,
          );
        }
      }
    }
    if (!(notifier instanceof AlarmNotifier)) {
      throw new AuditConfigurationError(
        `nestjs-audit: option "alarms.channels.${name}" must be a built-in channel ({ type: 'email' | 'slack' | 'webhook', … }) or a class or instance extending AlarmNotifier (exported by nestjs-audit).`,
      );
    }
    return notifier;
  }
}

/** The rate limit of each rule: its own, else `alarms.rateLimit`; none for `throttle` rules. */
function ruleRateLimits(
  compiled: CompiledAlarmRules,
  fallback: CompiledAlarmRateLimit | false,
): Map<string, CompiledAlarmRateLimit> {
  const limits = new Map<string, CompiledAlarmRateLimit>();
  for (const rule of compiled.rules) {
    if (rule.throttleMs !== undefined) continue;
    const limit = rule.rateLimit ?? fallback;
    if (limit !== false) limits.set(rule.name, limit);
  }
  return limits;
}

/** The timeouts the built-in channels set; the others get the dispatcher's default. */
function channelTimeouts(settings: ResolvedAlarmOptions): Record<string, number> {
  const timeouts: Record<string, number> = {};
  for (const [name, config] of Object.entries(settings.channels)) {
    if (isBuiltInChannelConfig(config) && config.timeoutMs !== undefined) {
      timeouts[name] = config.timeoutMs;
    }
  }
  return timeouts;
}
