/**
 * The audit event: one record of who did what to which resource, when, from where and with
 * what outcome. It is the unit every store persists, the ECS formatter renders and the query
 * API returns. Every value inside it is JSON-safe (see `serialize.ts`).
 */

/** Version of the event shape; stored with every record so readers can migrate old rows. */
export const AUDIT_EVENT_SCHEMA_VERSION = 1;

/** The ECS `event.outcome` allowed values. */
export const AUDIT_OUTCOMES = ['success', 'failure', 'unknown'] as const;
/** Result of the audited operation, with the ECS `event.outcome` allowed values. */
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** Log levels of the ECS line, lowest first. */
export const AUDIT_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
/** Log level used for the ECS line of an event. */
export type AuditLevel = (typeof AUDIT_LEVELS)[number];

/** Whether `value` is one of {@link AUDIT_OUTCOMES}. */
export function isAuditOutcome(value: unknown): value is AuditOutcome {
  return (AUDIT_OUTCOMES as readonly unknown[]).includes(value);
}

/** Whether `value` is one of {@link AUDIT_LEVELS}. */
export function isAuditLevel(value: unknown): value is AuditLevel {
  return (AUDIT_LEVELS as readonly unknown[]).includes(value);
}

/** ECS `event.category` allowed values (ECS 8.x). */
export const ECS_EVENT_CATEGORIES = [
  'api',
  'authentication',
  'configuration',
  'database',
  'driver',
  'email',
  'file',
  'host',
  'iam',
  'intrusion_detection',
  'library',
  'malware',
  'network',
  'package',
  'process',
  'registry',
  'session',
  'threat',
  'vulnerability',
  'web',
] as const;
/** One ECS `event.category` value. */
export type EcsEventCategory = (typeof ECS_EVENT_CATEGORIES)[number];

/** ECS `event.type` allowed values (ECS 8.x). */
export const ECS_EVENT_TYPES = [
  'access',
  'admin',
  'allowed',
  'change',
  'connection',
  'creation',
  'deletion',
  'denied',
  'device',
  'end',
  'error',
  'group',
  'indicator',
  'info',
  'installation',
  'protocol',
  'start',
  'user',
] as const;
/** One ECS `event.type` value. */
export type EcsEventType = (typeof ECS_EVENT_TYPES)[number];

/** Who performed the action. */
export interface AuditActor {
  /** `user` for a person, `service` for a job or another system, `anonymous` when unknown. */
  type: 'user' | 'service' | 'anonymous';
  /** Stable identifier (user id, service name). Absent for anonymous actors. */
  id?: string;
  /** Display name. */
  name?: string;
  /** E-mail address, when known. */
  email?: string;
  /** Roles held at the time of the action. */
  roles?: string[];
  /** Identity provider (e.g. `google`, `keycloak`). */
  provider?: string;
  /** Realm / directory / domain of the identity. */
  realm?: string;
  /** Whether the request carried an authenticated identity. */
  authenticated: boolean;
  /** The real person acting on behalf of `id`, when impersonating. */
  impersonator?: { id?: string; name?: string; email?: string };
}

/** The values an application may give to describe an actor; `type` and `authenticated` are inferred. */
export type AuditActorInput = Partial<AuditActor>;

/** Network origin of the action. */
export interface AuditSource {
  /** Client IP (honours `X-Forwarded-For` only with `trustProxy`). */
  ip?: string;
  /** `User-Agent` header as sent. */
  userAgent?: string;
}

/** The resource that was acted upon. */
export interface AuditTarget {
  /** Resource type, e.g. `user`, `order`. */
  type: string;
  /** Resource identifier, as a string. */
  id?: string;
}

/** One changed field. `path` is the list of keys from the root of the entity. */
export interface AuditFieldChange {
  /** Keys from the entity root to the changed value, e.g. `['mfa', 'phone']`. */
  path: string[];
  /** `added`: absent before; `removed`: absent after; `changed`: both present and different. */
  op: 'added' | 'removed' | 'changed';
  /** Value before (absent for `added`). */
  before?: unknown;
  /** Value after (absent for `removed`). */
  after?: unknown;
}

/** Before/after state of the target and the fields that differ. */
export interface AuditChanges {
  /** Entity state before the action (absent for creations). */
  before?: unknown;
  /** Entity state after the action (absent for deletions). */
  after?: unknown;
  /** Changed fields only, in a stable order. */
  diff: AuditFieldChange[];
  /** Dotted paths of the changed fields (`mfa.phone`), for display and filtering. */
  fields: string[];
}

/** HTTP request facts. Headers are never stored besides those named here. */
export interface AuditRequestInfo {
  /** HTTP method, upper case. */
  method?: string;
  /** URL path without the query string. */
  path?: string;
  /** Route pattern, e.g. `/users/:id`. */
  route?: string;
  /** Request id: the incoming `x-request-id`, or one generated and echoed back. */
  id?: string;
  /** Distributed trace id (W3C `traceparent`), when present. */
  traceId?: string;
}

/** A recorded audit event. All values are JSON-safe. */
export interface AuditEvent {
  /** Shape version, see {@link AUDIT_EVENT_SCHEMA_VERSION}. */
  schemaVersion: number;
  /** UUIDv7: unique and sortable by creation time. */
  id: string;
  /** UTC ISO-8601 timestamp with milliseconds. */
  timestamp: string;
  /** `<resource>.<verb>`, e.g. `user.update`. */
  action: string;
  /** ECS `event.category`. */
  category: EcsEventCategory[];
  /** ECS `event.type`. */
  type: EcsEventType[];
  /** Outcome, derived from the status code actually sent for HTTP requests. */
  outcome: AuditOutcome;
  /** Level of the ECS line. */
  level: AuditLevel;
  /** Who did it. */
  actor: AuditActor;
  /** Where from. */
  source?: AuditSource;
  /** What it was done to. */
  target?: AuditTarget;
  /** Before/after and the changed fields. */
  changes?: AuditChanges;
  /** HTTP request facts. */
  request?: AuditRequestInfo;
  /** HTTP response facts. */
  response?: { statusCode?: number; body?: unknown };
  /** Request body, only when `captureBody` is on (redacted). */
  body?: unknown;
  /** Error that made the action fail. */
  error?: { type: string; message: string };
  /** Duration of the action in milliseconds. */
  durationMs?: number;
  /** Tenant the action belongs to. */
  tenant?: string;
  /** What was asked for (search criteria of a read). */
  filter?: unknown;
  /** What was returned (ids or a summary of a read). */
  results?: unknown;
  /** Human-readable description. */
  message?: string;
  /** Free-form string labels for grouping and alarms. */
  labels?: Record<string, string>;
}
