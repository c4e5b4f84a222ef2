import type {
  ResolvedCheckpointOptions,
  AuditCheckpointOptions,
} from './integrity/checkpoint-options';
import type { ResolvedAlarmOptions } from './alarms/alarm-config';
import type { AuditAlarmOptions } from './alarms/alarm-options';
import type { AuditActorInput } from './event/audit-event';
import type { AuditHttpRequest } from './capture/http-adapter';
import type { AuditTrustProxy, AuditTrustProxyFunction } from './capture/client-address';
import type { AuditPrivacy, AuditPrivacyOptions } from './event/privacy';
import type { AuditStore } from './stores/audit-store';
import type {
  AuditAsyncDurabilityOptions,
  AuditSpoolPolicyOptions,
} from './options/write-modes.options';

export type { AuditAsyncDurabilityOptions, AuditSpoolPolicyOptions };

/** The object form of the `redact` module option. */
export interface AuditRedactOptions {
  /** Extra keys or dotted paths to redact, as the array form of `redact`. @default [] */
  paths?: readonly string[];
  /**
   * Key names the built-in vocabulary would redact but that hold harmless values here
   * (`tokenCount`, `pinned`), compared case- and separator-insensitively. Keys named in
   * `paths` are still redacted, and the value shape scan still applies to their values.
   * @default []
   */
  allow?: readonly string[];
  /**
   * Scan every recorded string (states, diffs, bodies, messages, labels, error messages) for
   * secrets by shape: JWTs, `Bearer`/`Basic` credentials, PEM private keys, passwords in URLs,
   * Luhn-valid card numbers, AWS/GitHub/Slack/Google/Stripe keys. Only the matched part is
   * replaced by `[REDACTED]`.
   * @default true
   */
  shapes?: boolean;
}

/**
 * Which requests the global interceptor records.
 * - `mutations`: every POST, PUT, PATCH and DELETE, plus any `@Audited` route (reads included).
 * - `all`: every request, like a request audit log.
 * - `decorated`: only `@Audited` routes.
 */
export type AuditScope = 'mutations' | 'all' | 'decorated';

/** Anything with a `write(line)` method, such as a pino destination or a writable stream. */
export interface AuditLineDestination {
  write(line: string): unknown;
}

/**
 * Options of `AuditModule.forRoot()` (and the value returned by a `forRootAsync()` factory).
 * Every option is optional: with none, events go to `./audit.db` (SQLite) and to stdout as ECS lines.
 *
 * @example
 * ```ts
 * AuditModule.forRoot({
 *   serviceName: 'billing',
 *   store: './data/audit.db',
 *   exclude: ['/health', /^\/metrics/],
 *   redact: ['phone', 'user.mfa.secretQuestion'],
 * })
 * ```
 */
export interface AuditModuleOptions {
  /**
   * Service name, used for `service.name` and `event.dataset` (`<service>.audit`).
   * @default process.env.AUDIT_SERVICE_NAME, else the `name` in ./package.json, else 'app'
   */
  serviceName?: string;
  /**
   * Where events are persisted: a SQLite file path, an `AuditStore` instance
   * (`SqliteAuditStore`, `InMemoryAuditStore`, your own) or a (possibly async) factory of one.
   * The module initialises it at boot and closes it on shutdown.
   * @default './audit.db'
   */
  store?: string | AuditStore | (() => AuditStore | Promise<AuditStore>);
  /**
   * The ECS JSON line stream. `false` turns it off; `'stdout'`/`'stderr'`; a file path; or a
   * destination object with `write(line)` (e.g. `pino.destination(...)`). When left unset and the
   * app uses nestjs-pino, lines go through the app's pino as a child logger (`log.logger: audit`).
   * @default 'stdout' (or the app's nestjs-pino logger when present)
   */
  stream?: boolean | string | AuditLineDestination;
  /**
   * Apply `AuditInterceptor` to every audited route, as the app starts (it is bound to those
   * routes only, not registered globally, so other routes run none of the library's code). With
   * `false`, apply it yourself with `@UseInterceptors(AuditInterceptor)`.
   * @default true
   */
  interceptor?: boolean;
  /**
   * Which requests the interceptor records; see {@link AuditScope}.
   * @default 'mutations'
   */
  scope?: AuditScope;
  /**
   * Paths never audited (health checks, metrics), matched against the path without its query
   * string. A string matches exactly, or as a prefix when it ends with `*` (`'/internal/*'`).
   * `@Audited` does not override an exclusion.
   * @default []
   */
  exclude?: ReadonlyArray<string | RegExp>;
  /**
   * Extracts the actor from the request. Return `undefined`/`null` for an anonymous actor.
   * @default reads `req.user` the way passport sets it: `id ?? sub`, `email ?? username`, `name`, `roles`
   */
  actor?: (req: AuditHttpRequest) => AuditActorInput | null | undefined;
  /**
   * Extracts the tenant of the request (multi-tenant apps).
   * @default no tenant
   */
  tenant?: (req: AuditHttpRequest) => string | null | undefined;
  /**
   * Which proxies may set `X-Forwarded-For` for `source.ip`, in Express's `trust proxy` forms: a
   * hop count (`1` behind one proxy), addresses/CIDRs (`['10.0.0.0/8']`, `'loopback, 10.0.0.1'`),
   * a function `(addr, i) => boolean`, `false` (the socket peer) or `true` (every hop: the
   * leftmost address, which any client can forge; avoid). Unset, the platform decides: `req.ip`
   * as Express's `trust proxy` / Fastify's `trustProxy` compute it.
   * @default the platform's `req.ip`
   */
  trustProxy?: AuditTrustProxy;
  /**
   * Extra keys or dotted paths to redact, merged with the built-in vocabulary (never replacing
   * it). A bare key (`'phone'`) matches at any depth; a dotted path (`'user.mfa.phone'`,
   * `'items.*.iban'`) matches from the root of each recorded value. The object form also takes
   * an allow-list for the vocabulary's false positives and the switch of the value shape scan
   * (see {@link AuditRedactOptions}).
   * @default []
   */
  redact?: readonly string[] | AuditRedactOptions;
  /**
   * Largest JSON size of one recorded value (before, after, body, result, …) in bytes; a larger
   * value is replaced by a marker with its size and SHA-256.
   * @default 65536
   */
  maxValueBytes?: number;
  /**
   * Largest JSON size of one event in bytes; the largest values are replaced by markers until it fits.
   * @default 262144
   */
  maxEventBytes?: number;
  /**
   * Keys that identify an entity and the items of an array, in order of preference. An array
   * whose items are all objects with a unique string or number under one of them is diffed by
   * identity (`items.[id=7].quantity`, `items.[id=9]` added or removed); other arrays by
   * position (`tags.[2]`). A class instance with one of them, held by a property of a recorded
   * state, is a relation (see `entityRelations`). Keys the built-in denylist redacts are ignored.
   * @default ['id']
   */
  arrayIdentityKeys?: readonly string[];
  /**
   * Most diff entries an event records for one array; the rest are replaced by one entry at the
   * array's path (so `changes.fields` still names it) whose marker counts them. Alarm rules see
   * every entry.
   * @default 100
   */
  maxArrayChanges?: number;
  /**
   * How a relation is recorded in a state: an entity instance (a class instance with an
   * identity key) held by a property of another object. `'id'`: as its identity, `{ id: 7 }`;
   * `'full'`: with all its fields. Entities in an array (a to-many relation) keep their fields
   * either way.
   * @default 'id'
   */
  entityRelations?: 'id' | 'full';
  /**
   * How long `app.close()` waits for captures still running before it closes the store: a
   * handler whose client went away, or an ORM transaction between its commit and its events.
   * A change committed before SIGTERM is recorded when it finishes within this time.
   * @default 10000
   */
  shutdownTimeoutMs?: number;
  /**
   * Checkpoints of the hash chain's head written to the ECS stream (`event.action:
   * audit.checkpoint`) and optionally to a file, signed when given a key: the copy outside the
   * database that shows a cut tail or a rewritten chain (`nestjs-audit verify --checkpoints`).
   * Taken every `everyEvents` events, every `intervalMs` (also when idle) and at shutdown, for
   * stores that keep a chain (SQLite, PostgreSQL). `false` turns them off.
   * @default { everyEvents: 1000, intervalMs: 60000 }
   */
  checkpoints?: AuditCheckpointOptions | boolean;
  /**
   * Header carrying the request id: reused when present and sane, otherwise a UUIDv7 is generated;
   * either way it is echoed in the response of audited requests.
   * @default 'x-request-id'
   */
  requestIdHeader?: string;
  /**
   * Use the incoming `requestIdHeader` value as the request id. Enable only when your edge (proxy,
   * gateway) sets or overwrites that header: otherwise any client can file its events under
   * another request's id. Untrusted (or malformed: not 1-128 of `A-Z a-z 0-9 _ . : @ / + = -`),
   * the library generates a UUIDv7; the response header always carries the id recorded.
   * @default false
   */
  trustRequestId?: boolean;
  /**
   * Most events committed in one store transaction (group commit). Concurrent requests share a
   * commit; larger groups are split so no transaction blocks the event loop for long.
   * @default 100
   */
  maxBatch?: number;
  /**
   * How an event reaches the store.
   * - `'ack'`: an audited response is released only once its event is committed (group commit);
   *   `record()` resolves on commit.
   * - `'async'`, or `{ mode: 'async', flushIntervalMs, maxQueue, onQueueFull }` to tune it (see
   *   {@link AuditAsyncDurabilityOptions}): events go to a bounded in-memory queue flushed in
   *   batches; responses do not wait. Queued events are flushed on shutdown (call
   *   `app.enableShutdownHooks()`), but a crash loses them.
   * @default 'ack'
   * @example durability: { mode: 'async', flushIntervalMs: 50, onQueueFull: 'drop' }
   */
  durability?: 'ack' | 'async' | AuditAsyncDurabilityOptions;
  /**
   * `async` only: flush the queue at least this often, in milliseconds.
   * @default 100
   * @deprecated Write `durability: { mode: 'async', flushIntervalMs }`; the flat form is accepted,
   * with a warning at boot, until the next minor version.
   */
  flushIntervalMs?: number;
  /**
   * `async` only: most events waiting in memory.
   * @default 10000
   * @deprecated Write `durability: { mode: 'async', maxQueue }`; the flat form is accepted, with a
   * warning at boot, until the next minor version.
   */
  maxQueue?: number;
  /**
   * `async` only: what a write does when the queue is full: `block` waits for room, `drop`
   * discards the event (counted in `health().dropped` and logged, never silently).
   * @default 'block'
   * @deprecated Write `durability: { mode: 'async', onQueueFull }`; the flat form is accepted,
   * with a warning at boot, until the next minor version.
   */
  onQueueFull?: 'block' | 'drop';
  /**
   * What happens when the store cannot commit.
   * - `'fail'`: an audited request answers 503 instead of its 2xx (`ack`); `record()` rejects.
   * - `'spool'`, or `{ policy: 'spool', path, maxBytes }` to place and cap the spool (see
   *   {@link AuditSpoolPolicyOptions}): the events are appended and fsynced to a local spool
   *   file, the request proceeds, and a background task replays the spool into the store once it
   *   answers again.
   * @default 'fail'
   * @example onStoreFailure: { policy: 'spool', path: '/var/lib/billing/audit.spool' }
   */
  onStoreFailure?: 'fail' | 'spool' | AuditSpoolPolicyOptions;
  /**
   * Spool file of the `spool` policy. Give each app instance on a host its own path.
   * @default './audit.spool'
   * @deprecated Write `onStoreFailure: { policy: 'spool', path }`; the flat form is accepted,
   * with a warning at boot, until the next minor version.
   */
  spoolPath?: string;
  /**
   * Largest spool file in bytes; past it the `spool` policy falls back to `fail`.
   * @default 268435456 (256 MiB)
   * @deprecated Write `onStoreFailure: { policy: 'spool', maxBytes }`; the flat form is accepted,
   * with a warning at boot, until the next minor version.
   */
  spoolMaxBytes?: number;
  /**
   * Permissions of the files the module creates: the SQLite database of the default store (and
   * its `-wal` and `-shm`), the spool, a `stream` file and the checkpoints' `file`. The owner's
   * alone by default; `0o640` lets a log shipper of the same group read them. Others may never
   * write. A file that already exists keeps its permissions.
   * @default 0o600
   */
  fileMode?: number;
  /**
   * How often the spool replay (and, in `async` mode with `fail`, a retry) probes a failed store,
   * in milliseconds.
   * @default 1000
   */
  retryIntervalMs?: number;
  /**
   * Alarms: rules checked against every recorded event, and the channels (e-mail, Slack, webhook,
   * your own notifier) they notify. Alarms are written to an outbox in the same commit as their
   * event and delivered in the background; see the README's "Alarms" section.
   * @default no alarms
   */
  alarms?: AuditAlarmOptions;
  /**
   * Privacy: actor ids, e-mails and names recorded as keyed pseudonyms, client IPs truncated to
   * their network, and chosen state fields recorded as keyed hashes; applied before anything is
   * stored, streamed, chained or alarmed on. See the README's "Security" section.
   * @default everything off
   */
  privacy?: AuditPrivacyOptions;
}

/** Options after validation and defaults, as the providers use them. */
export interface ResolvedAuditOptions {
  serviceName: string;
  store: string | AuditStore | (() => AuditStore | Promise<AuditStore>);
  /** `off`, `auto` (the app's nestjs-pino logger if any, else stdout), or an explicit destination. */
  stream:
    | { kind: 'off' }
    | { kind: 'auto' }
    | { kind: 'destination'; destination: string | AuditLineDestination };
  interceptor: boolean;
  scope: AuditScope;
  exclude: ReadonlyArray<string | RegExp>;
  actor?: (req: AuditHttpRequest) => AuditActorInput | null | undefined;
  tenant?: (req: AuditHttpRequest) => string | null | undefined;
  /** Compiled `trustProxy`; undefined: follow the platform's `req.ip`. */
  trustProxy?: AuditTrustProxyFunction;
  redact: readonly string[];
  /** Normalised key names exempt from the built-in vocabulary. */
  redactAllow: readonly string[];
  /** Whether string values are scanned for secrets by shape. */
  redactShapes: boolean;
  maxValueBytes: number;
  maxEventBytes: number;
  arrayIdentityKeys: readonly string[];
  maxArrayChanges: number;
  entityRelations: 'id' | 'full';
  shutdownTimeoutMs: number;
  checkpoints: ResolvedCheckpointOptions | false;
  requestIdHeader: string;
  trustRequestId: boolean;
  maxBatch: number;
  durability: 'ack' | 'async';
  flushIntervalMs: number;
  maxQueue: number;
  onQueueFull: 'block' | 'drop';
  onStoreFailure: 'fail' | 'spool';
  spoolPath: string;
  spoolMaxBytes: number;
  fileMode: number;
  retryIntervalMs: number;
  /** Undefined when no alarms are configured. */
  alarms?: ResolvedAlarmOptions;
  /** Undefined when every privacy option is off. */
  privacy?: AuditPrivacy;
}
