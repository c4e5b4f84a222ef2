import { resolveAlarmOptions } from '../alarms/alarm-config';
import { AuditConfigurationError } from '../audit-configuration.error';
import type { AuditModuleOptions, ResolvedAuditOptions } from '../audit.options';
import { resolvePrivacy } from '../event/privacy';
import { resolveRequestOptions, resolveRouteOptions } from './capture-options';
import { resolveEventOptions } from './event-options';
import { fail } from './option-checks';
import { resolveOutputOptions } from './output-options';
import { resolveRedactOptions } from './redact-options';
import { resolveWriterOptions } from './writer-options';

const KNOWN_OPTIONS = new Set([
  'serviceName',
  'store',
  'stream',
  'interceptor',
  'scope',
  'exclude',
  'actor',
  'tenant',
  'trustProxy',
  'redact',
  'maxValueBytes',
  'maxEventBytes',
  'arrayIdentityKeys',
  'maxArrayChanges',
  'entityRelations',
  'shutdownTimeoutMs',
  'checkpoints',
  'requestIdHeader',
  'trustRequestId',
  'maxBatch',
  'durability',
  'flushIntervalMs',
  'maxQueue',
  'onQueueFull',
  'onStoreFailure',
  'spoolPath',
  'spoolMaxBytes',
  'fileMode',
  'retryIntervalMs',
  'alarms',
  'privacy',
  'isGlobal',
]);

/**
 * Validates module options and fills in defaults, one option group at a time.
 * @throws AuditConfigurationError naming the option and how to fix it.
 */
export function resolveAuditOptions(
  input: AuditModuleOptions | undefined | null,
): ResolvedAuditOptions {
  const options = input ?? {};
  checkOptionsShape(options);
  const resolved: ResolvedAuditOptions = {
    ...resolveOutputOptions(options),
    ...resolveRouteOptions(options),
    ...resolveRequestOptions(options),
    ...resolveRedactOptions(options),
    ...resolveEventOptions(options),
    ...resolveWriterOptions(options),
  };
  const alarms = resolveAlarmOptions(options.alarms);
  const privacy = resolvePrivacy(options.privacy);
  return { ...resolved, ...(alarms ? { alarms } : {}), ...(privacy ? { privacy } : {}) };
}

/** An options object holding only known options. */
function checkOptionsShape(options: AuditModuleOptions): void {
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new AuditConfigurationError(
      'nestjs-audit: AuditModule.forRoot() expects an options object, e.g. AuditModule.forRoot({ scope: "mutations" }).',
    );
  }
  if ('api' in options) {
    // forRoot() takes "api" out before the options reach here; only a factory can return it.
    throw new AuditConfigurationError(
      'nestjs-audit: option "api" was returned by the forRootAsync() factory, but the API is mounted when the module is built, before any factory runs. Pass it beside the factory: AuditModule.forRootAsync({ useFactory, inject, api: { guard: AdminGuard } }).',
    );
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      fail(key, 'is not a known option', `Known options: ${[...KNOWN_OPTIONS].join(', ')}.`);
    }
  }
}
