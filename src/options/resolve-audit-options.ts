import { resolveAlarmOptions } from '../alarms/alarm-config';
import { AuditConfigurationError } from '../common/audit-configuration.error';
import type { AuditModuleOptions, ResolvedAuditOptions } from '../audit.options';
import { AuditLogger } from '../common/audit-logger';
import { resolvePrivacy } from '../event/privacy';
import { resolveRequestOptions, resolveRouteOptions } from './capture-options';
import { resolveEventOptions } from './event-options';
import { auditOptionChecks } from '../audit-configuration-checks';
import { resolveOutputOptions } from './output-options';
import { resolveRedactOptions } from './redact-options';
import { resolveWriterOptions } from './writer-options';

/**
 * Every option forRoot() accepts: `satisfies` makes an option added to {@link AuditModuleOptions}
 * without being listed here a compile error, and a listed key that is not an option one too.
 */
const KNOWN_OPTIONS = {
  serviceName: true,
  store: true,
  stream: true,
  interceptor: true,
  scope: true,
  exclude: true,
  actor: true,
  tenant: true,
  trustProxy: true,
  redact: true,
  maxValueBytes: true,
  maxEventBytes: true,
  arrayIdentityKeys: true,
  maxArrayChanges: true,
  entityRelations: true,
  shutdownTimeoutMs: true,
  checkpoints: true,
  requestIdHeader: true,
  trustRequestId: true,
  maxBatch: true,
  durability: true,
  flushIntervalMs: true,
  maxQueue: true,
  onQueueFull: true,
  onStoreFailure: true,
  spoolPath: true,
  spoolMaxBytes: true,
  fileMode: true,
  retryIntervalMs: true,
  alarms: true,
  privacy: true,
  isGlobal: true,
} satisfies Record<keyof AuditModuleOptions | 'isGlobal', true>;

/**
 * Validates module options and fills in defaults, one option group at a time.
 * @param warn receives the boot warnings (a deprecated option in use), once the options are
 * valid; by default the module's logger.
 * @throws AuditConfigurationError naming the option and how to fix it.
 */
export function resolveAuditOptions(
  input: AuditModuleOptions | undefined | null,
  warn: (message: string) => void = (message) => new AuditLogger().warn(message),
): ResolvedAuditOptions {
  const options = input ?? {};
  checkOptionsShape(options);
  // Held until every option is checked: a boot that fails shows its error, not warnings first.
  const warnings: string[] = [];
  const resolved: ResolvedAuditOptions = {
    ...resolveOutputOptions(options),
    ...resolveRouteOptions(options),
    ...resolveRequestOptions(options),
    ...resolveRedactOptions(options),
    ...resolveEventOptions(options),
    ...resolveWriterOptions(options, (message) => warnings.push(message)),
  };
  const alarms = resolveAlarmOptions(options.alarms);
  const privacy = resolvePrivacy(options.privacy);
  for (const message of warnings) warn(message);
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
  auditOptionChecks.knownKeys(options, KNOWN_OPTIONS);
}
