import type {
  AuditEvent,
  AuditChanges,
  AuditLevel,
  AuditTruncation,
  EcsEventCategory,
  EcsEventType,
} from '../event/audit-event';

/** ECS version the documents follow; written to `ecs.version` on every line. */
export const ECS_VERSION = '8.17.0';

/** Name of the logger that writes audit lines (`log.logger`), so log routing can select them. */
export const AUDIT_LOGGER_NAME = 'audit';

/** The service that produced the events, written to `service.*` and `event.dataset`. */
export interface EcsServiceInfo {
  /** Service name, e.g. `billing-api`. `event.dataset` becomes `<name>.audit`. */
  name: string;
  /** Service version, e.g. the package version. Omitted when absent. */
  version?: string;
  /** Deployment environment, e.g. `production`. Omitted when absent. */
  environment?: string;
}

/** ECS `event.*` fields of an audit line. */
export interface EcsEventFields {
  /** The audit event id (UUIDv7). */
  id: string;
  /** Always `event`: an audit record is an event, not an alert or a metric. */
  kind: 'event';
  /** `<resource>.<verb>`, e.g. `user.update`. */
  action: string;
  /** ECS allowed categories. */
  category: EcsEventCategory[];
  /** ECS allowed types. */
  type: EcsEventType[];
  /** `success`, `failure` or `unknown`. */
  outcome: AuditEvent['outcome'];
  /** `<service.name>.audit`, so audit lines can be routed to their own data stream. */
  dataset: string;
  /** Duration in nanoseconds (integer), as ECS requires. */
  duration?: number;
  /**
   * The event's sequence number in the store's hash chain (`AuditEvent.sequence`): only in a
   * document made from an event read back from a store, never in a stream line, which is
   * written before the event is chained.
   */
  sequence?: number;
}

/** ECS `user.*` fields: the acting identity. */
export interface EcsUserFields {
  /** Actor id. */
  id?: string;
  /** Actor display name. */
  name?: string;
  /** Actor e-mail address. */
  email?: string;
  /** Roles held when acting. */
  roles?: string[];
  /** Realm / directory of the identity. */
  domain?: string;
}

/** Fields of ours that ECS has no place for, under the single `audit` namespace. */
export interface EcsAuditFields {
  /** Version of the audit event shape. */
  schema_version: number;
  /** Actor facts ECS `user.*` cannot hold. */
  actor: {
    /** `user`, `service` or `anonymous`. */
    type: AuditEvent['actor']['type'];
    /** Whether the request carried an authenticated identity. */
    authenticated: boolean;
    /** Identity provider. */
    provider?: string;
    /** The real person acting on behalf of the actor. */
    impersonator?: { id?: string; name?: string; email?: string };
  };
  /** The resource acted upon. */
  target?: { type: string; id?: string };
  /** Changed fields, diff and the states before and after, as in the event. */
  changes?: AuditChanges;
  /** What the size caps cut from the event (see `AuditEvent.truncated`). */
  truncated?: AuditTruncation;
  /** Request facts ECS lacks. */
  request?: { route: string };
  /** Request body (redacted), when captured. */
  body?: unknown;
  /** Response facts ECS lacks. */
  response?: { body: unknown };
  /** What was asked for. */
  filter?: unknown;
  /** What was returned. */
  results?: unknown;
}

/**
 * One audit event as an ECS document. Property order is the output order: the four fields
 * ecs-logging requires first, then `log.logger`, then nested objects. Absent values and empty
 * objects are omitted.
 */
export interface EcsDocument {
  /** Event time, ISO-8601 UTC with milliseconds. */
  '@timestamp': string;
  /** Level of the line. */
  'log.level': AuditLevel;
  /** Human-readable sentence. */
  message: string;
  /** {@link ECS_VERSION}. */
  'ecs.version': string;
  /** Always {@link AUDIT_LOGGER_NAME}. */
  'log.logger': typeof AUDIT_LOGGER_NAME;
  /** ECS event fields. */
  event: EcsEventFields;
  /** The acting identity. */
  user?: EcsUserFields;
  /** Network origin. */
  source?: { ip: string };
  /** Client software. */
  user_agent?: { original: string };
  /** HTTP request and response facts. */
  http?: { request?: { method?: string; id?: string }; response?: { status_code: number } };
  /** Requested URL. */
  url?: { path: string };
  /** The producing service. */
  service: EcsServiceInfo;
  /** Distributed trace. */
  trace?: { id: string };
  /** Error that made the action fail. */
  error?: { type: string; message: string };
  /** Tenant. */
  organization?: { id: string };
  /** The event's labels, always nested here so they cannot shadow reserved fields. */
  labels?: Record<string, string>;
  /** Everything ECS has no field for. */
  audit: EcsAuditFields;
}

/**
 * Maps an audit event to its ECS document. Pure: no clock, no I/O, the input is not modified.
 *
 * Every value is placed at a fixed path; nothing from the event is spread, so user-controlled
 * keys (labels, bodies, entity states) can never appear at the top level or overwrite a
 * reserved field.
 *
 * @example
 * ```ts
 * const line = JSON.stringify(formatEcs(event, { name: 'billing-api', version: '1.4.0' }));
 * ```
 */
export function formatEcs(event: AuditEvent, service: EcsServiceInfo): EcsDocument {
  // The sections are added one by one so the output order is fixed and absent sections
  // leave no key behind; `service` and `audit` are set below before the object escapes.
  const doc = {
    '@timestamp': event.timestamp,
    'log.level': event.level,
    message: event.message || defaultMessage(event),
    'ecs.version': ECS_VERSION,
    'log.logger': AUDIT_LOGGER_NAME,
    event: eventFields(event, service),
  } as EcsDocument;
  assign(doc, 'user', userFields(event));
  if (event.source?.ip !== undefined) doc.source = { ip: event.source.ip };
  if (event.source?.userAgent !== undefined) {
    doc.user_agent = { original: event.source.userAgent };
  }
  assign(doc, 'http', httpFields(event));
  if (event.request?.path !== undefined) doc.url = { path: event.request.path };
  doc.service = serviceFields(service);
  if (event.request?.traceId !== undefined) doc.trace = { id: event.request.traceId };
  if (event.error) doc.error = { type: event.error.type, message: event.error.message };
  if (event.tenant !== undefined) doc.organization = { id: event.tenant };
  assign(doc, 'labels', labelFields(event.labels));
  doc.audit = auditFields(event);
  return doc;
}

/**
 * The sentence used when the event carries no message, e.g.
 * `user.update on user 42 by alice@example.com: success`.
 */
function defaultMessage(event: AuditEvent): string {
  const { actor, target } = event;
  const who = actor.email ?? actor.name ?? actor.id ?? 'anonymous';
  const what = target ? ` on ${target.type}${target.id !== undefined ? ` ${target.id}` : ''}` : '';
  return `${event.action}${what} by ${who}: ${event.outcome}`;
}

function eventFields(event: AuditEvent, service: EcsServiceInfo): EcsEventFields {
  const fields: EcsEventFields = {
    id: event.id,
    kind: 'event',
    action: event.action,
    category: [...event.category],
    type: [...event.type],
    outcome: event.outcome,
    dataset: `${service.name}.audit`,
  };
  if (event.durationMs !== undefined && Number.isFinite(event.durationMs)) {
    // ECS event.duration is a long in nanoseconds; a fractional value would be rejected.
    fields.duration = Math.round(event.durationMs * 1e6);
  }
  if (event.sequence !== undefined) fields.sequence = event.sequence;
  return fields;
}

function userFields(event: AuditEvent): EcsUserFields | undefined {
  const { actor } = event;
  const user: EcsUserFields = {};
  if (actor.id !== undefined) user.id = actor.id;
  if (actor.name !== undefined) user.name = actor.name;
  if (actor.email !== undefined) user.email = actor.email;
  if (actor.roles !== undefined) user.roles = [...actor.roles];
  if (actor.realm !== undefined) user.domain = actor.realm;
  return nonEmpty(user);
}

function httpFields(event: AuditEvent): EcsDocument['http'] {
  const request: { method?: string; id?: string } = {};
  if (event.request?.method !== undefined) request.method = event.request.method;
  if (event.request?.id !== undefined) request.id = event.request.id;
  const http: NonNullable<EcsDocument['http']> = {};
  assign(http, 'request', nonEmpty(request));
  if (event.response?.statusCode !== undefined) {
    http.response = { status_code: event.response.statusCode };
  }
  return nonEmpty(http);
}

/** A copy of the service fields with absent values left out (shared by every line shape). */
export function serviceFields(service: EcsServiceInfo): EcsServiceInfo {
  const fields: EcsServiceInfo = { name: service.name };
  if (service.version !== undefined) fields.version = service.version;
  if (service.environment !== undefined) fields.environment = service.environment;
  return fields;
}

function labelFields(labels: AuditEvent['labels']): Record<string, string> | undefined {
  if (!labels) return undefined;
  // A null prototype keeps a label named `__proto__` an ordinary key instead of a prototype
  // change; only string values are kept because ECS maps every label as a keyword.
  const copy: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const key of Object.keys(labels)) {
    const value = labels[key];
    if (typeof value === 'string') copy[key] = value;
  }
  return nonEmpty(copy);
}

function auditFields(event: AuditEvent): EcsAuditFields {
  const { actor } = event;
  const audit: EcsAuditFields = {
    schema_version: event.schemaVersion,
    actor: { type: actor.type, authenticated: actor.authenticated },
  };
  if (actor.provider !== undefined) audit.actor.provider = actor.provider;
  if (actor.impersonator) {
    const impersonator: { id?: string; name?: string; email?: string } = {};
    if (actor.impersonator.id !== undefined) impersonator.id = actor.impersonator.id;
    if (actor.impersonator.name !== undefined) impersonator.name = actor.impersonator.name;
    if (actor.impersonator.email !== undefined) impersonator.email = actor.impersonator.email;
    assign(audit.actor, 'impersonator', nonEmpty(impersonator));
  }
  if (event.target) {
    audit.target =
      event.target.id !== undefined
        ? { type: event.target.type, id: event.target.id }
        : { type: event.target.type };
  }
  // As recorded (with what was cut, if anything): the stream line splices in the same JSON text
  // as the stored event's (see ecs-line.ts).
  if (event.changes) audit.changes = event.changes;
  if (event.truncated !== undefined) audit.truncated = event.truncated;
  if (event.request?.route !== undefined) audit.request = { route: event.request.route };
  if (event.body !== undefined) audit.body = event.body;
  if (event.response?.body !== undefined) audit.response = { body: event.response.body };
  if (event.filter !== undefined) audit.filter = event.filter;
  if (event.results !== undefined) audit.results = event.results;
  return audit;
}

function nonEmpty<T extends object>(value: T): T | undefined {
  return Object.keys(value).length > 0 ? value : undefined;
}

/** Sets `target[key]` only when there is a value, so absent sections leave no `undefined` key. */
function assign<T extends object, K extends keyof T>(
  target: T,
  key: K,
  value: T[K] | undefined,
): void {
  if (value !== undefined) target[key] = value;
}
