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
  /** Client IP: the platform's `req.ip`, or as the `trustProxy` option walks `X-Forwarded-For`; always a valid IP. */
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

/**
 * Before/after state of the target and the fields that differ.
 *
 * Nothing hides by size: `fields` and `count` describe every changed field even when the size
 * caps cut the diff's values or entries; only when the names alone exceed `maxEventBytes` is
 * `fields` cut too, and then `fieldsTruncated` says so and `count` still counts them all.
 */
export interface AuditChanges {
  /** Entity state before the action (absent for creations). */
  before?: unknown;
  /** Entity state after the action (absent for deletions). */
  after?: unknown;
  /**
   * Changed fields only, in a stable order. Values larger than `maxValueBytes` are truncated
   * markers; when the event is larger than `maxEventBytes` the list is cut at the end and its
   * last entry stands for the entries left out (see `diffTruncated`).
   */
  diff: AuditFieldChange[];
  /**
   * Dotted paths of every changed field (`mfa.phone`), in diff order, for display and
   * filtering; complete even when the diff is cut (see `fieldsTruncated` for the one exception).
   */
  fields: string[];
  /**
   * How many fields changed: the length of the complete list, before any cut. Set on every
   * event built by this version (absent on events recorded by older ones).
   */
  count?: number;
  /** Some diff values were replaced by truncated markers, or entries were left out, for size. */
  diffTruncated?: true;
  /** `fields` lists fewer than `count` paths: even the names did not fit in `maxEventBytes`. */
  fieldsTruncated?: true;
  /**
   * The states were larger than the work budget and were read only in part: the diff, `fields`
   * and `count` cover the part that was read.
   */
  partial?: true;
  /**
   * Why the states were not compared, e.g. `after-state could not be loaded after the failure`.
   * The diff and `fields` are then empty (the action is not known to have changed anything)
   * and `before` / `after` hold what could be loaded.
   */
  unavailable?: string;
  /**
   * Paths (dotted, `''` for a whole state) of values in `before` or `after` that could not be
   * serialised and were recorded as `[Unserializable: ...]` markers (a getter that threw, a
   * promise such as a lazy relation): their changes are not known. At most 20 are listed.
   */
  unserializable?: string[];
}

/** What the size caps and the work budget cut from an event, so a reader knows what is missing. */
export interface AuditTruncation {
  /**
   * Payloads replaced whole by a truncated marker, by their place in the event, in this order:
   * `changes.before`, `changes.after`, `body`, `response.body`, `filter`, `results`.
   */
  payloads?: string[];
  /** Diff values (an entry's `before` or `after`) replaced by a truncated marker. */
  diffValues?: number;
  /** Diff entries left out at the end of `changes.diff` (its last entry stands for them). */
  diffEntries?: number;
  /** Field paths left out at the end of `changes.fields` (`changes.count` still counts them). */
  fields?: number;
  /** The work budget ran out: the values whose markers say `partial` were read only in part. */
  budgetExhausted?: true;
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
  /** What the size caps or the work budget cut; absent when nothing was cut. */
  truncated?: AuditTruncation;
  /**
   * The event's sequence number in the store's hash chain (ECS `event.sequence`): 1, 2, 3, …
   * with no gap, in the order the store chained the events, which makes their exact order
   * unambiguous and is what `AuditService.verify()` reports as "verified up to #N".
   *
   * Set only on events read back from a store that keeps a chain (SQLite, PostgreSQL), and
   * absent while the event is not chained yet (the PostgreSQL store chains shortly after commit)
   * and in the in-memory store. It is not part of the stored, hashed event: a store assigns it,
   * and ignores it in the events given to `append()`.
   */
  sequence?: number;
}
