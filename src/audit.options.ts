import { DEFAULT_FILE_MODE, fileModeProblem } from './common/file-mode';
import {
  resolveCheckpointOptions,
  type AuditCheckpointOptions,
  type ResolvedCheckpointOptions,
} from './integrity/checkpoint-options';
import { readFileSync } from 'node:fs';
import { resolveAlarmOptions, type ResolvedAlarmOptions } from './alarms/alarm-config';
import type { AuditAlarmOptions } from './alarms/alarm-options';
import { AuditConfigurationError } from './audit-configuration.error';
import { messageOf } from './common/message-of';
import { join } from 'node:path';
import type { AuditActorInput } from './event/audit-event';
import type { AuditHttpRequest } from './capture/http-adapter';
import {
  compileTrustProxy,
  type AuditTrustProxy,
  type AuditTrustProxyFunction,
} from './capture/client-address';
import { validateRedactPaths } from './event/redact-paths';
import { resolvePrivacy, type AuditPrivacy, type AuditPrivacyOptions } from './event/privacy';
import { AuditStore } from './stores/audit-store';

export { AuditConfigurationError };

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
   * - `ack`: an audited response is released only once its event is committed (group commit);
   *   `record()` resolves on commit.
   * - `async`: events go to a bounded in-memory queue flushed in batches; responses do not wait.
   *   Queued events are flushed on shutdown (call `app.enableShutdownHooks()`), but a crash loses them.
   * @default 'ack'
   */
  durability?: 'ack' | 'async';
  /**
   * `async` only: flush the queue at least this often, in milliseconds.
   * @default 100
   */
  flushIntervalMs?: number;
  /**
   * `async` only: most events waiting in memory.
   * @default 10000
   */
  maxQueue?: number;
  /**
   * `async` only: what a write does when the queue is full: `block` waits for room, `drop`
   * discards the event (counted in `health().dropped` and logged, never silently).
   * @default 'block'
   */
  onQueueFull?: 'block' | 'drop';
  /**
   * What happens when the store cannot commit.
   * - `fail`: an audited request answers 503 instead of its 2xx (`ack`); `record()` rejects.
   * - `spool`: the events are appended and fsynced to a local spool file, the request proceeds,
   *   and a background task replays the spool into the store once it answers again.
   * @default 'fail'
   */
  onStoreFailure?: 'fail' | 'spool';
  /**
   * Spool file of the `spool` policy. Give each app instance on a host its own path.
   * @default './audit.spool'
   */
  spoolPath?: string;
  /**
   * Largest spool file in bytes; past it the `spool` policy falls back to `fail`.
   * @default 268435456 (256 MiB)
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
const SCOPES: readonly AuditScope[] = ['mutations', 'all', 'decorated'];

function fail(option: string, problem: string, fix: string): never {
  throw new AuditConfigurationError(`nestjs-audit: option "${option}" ${problem}. ${fix}`);
}

/** The `redact` option in either form, as its object form. */
function resolveRedactForm(value: unknown): AuditRedactOptions {
  if (value === undefined || Array.isArray(value)) return { paths: value as string[] | undefined };
  if (typeof value === 'object' && value !== null) {
    const unknownKey = Object.keys(value).find((k) => !['paths', 'allow', 'shapes'].includes(k));
    if (unknownKey !== undefined) {
      fail(
        'redact',
        `has an unknown key "${unknownKey}"`,
        'Use { paths, allow, shapes }, e.g. redact: { paths: ["phone"], allow: ["tokenCount"] }.',
      );
    }
    return value;
  }
  return fail(
    'redact',
    'must be an array of key names or dotted paths, or { paths, allow, shapes }',
    'Example: redact: ["phone", "user.mfa.secret"].',
  );
}

/** A list of key names or dotted paths, checked as redaction paths. */
function checkedRedactList(list: unknown, option: string): readonly string[] {
  if (!Array.isArray(list) || list.some((p) => typeof p !== 'string' || p.trim() === '')) {
    fail(
      option,
      'must be an array of non-empty key names or dotted paths',
      'Example: redact: ["phone", "user.mfa.secret"].',
    );
  }
  try {
    validateRedactPaths(list);
  } catch (error) {
    fail(option, `has an invalid entry: ${messageOf(error)}`, 'Fix or remove that entry.');
  }
  return list as readonly string[];
}

function defaultServiceName(): string {
  const fromEnv = process.env.AUDIT_SERVICE_NAME?.trim();
  if (fromEnv) return fromEnv;
  try {
    const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as {
      name?: unknown;
    };
    if (typeof pkg.name === 'string' && pkg.name.trim()) return pkg.name.trim();
  } catch {
    // No readable package.json in the working directory: fall through to the generic name.
  }
  return 'app';
}

function positiveInteger(option: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(
      option,
      `must be a whole number of at least ${min} (got ${JSON.stringify(value) ?? typeof value})`,
      `Remove it to use the default ${fallback}.`,
    );
  }
  return value;
}

function oneOf<T extends string>(
  option: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    fail(
      option,
      `must be one of ${allowed.map((a) => `'${a}'`).join(', ')} (got ${JSON.stringify(value) ?? typeof value})`,
      `Remove it to use the default '${fallback}'.`,
    );
  }
  return value as T;
}

function optionalFunction<T>(option: string, value: unknown, example: string): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'function')
    fail(option, `must be a function (got ${typeof value})`, `Example: ${example}.`);
  return value as T;
}

/** The `checkpoints` option, its errors as every other option's. */
function resolveCheckpoints(value: unknown): ResolvedCheckpointOptions | false {
  try {
    return resolveCheckpointOptions(value);
  } catch (error) {
    const problem = error instanceof Error ? error.message : String(error);
    return fail(
      'checkpoints',
      problem.replace(/^Invalid AuditModule option "checkpoints": /, '').replace(/\.$/, ''),
      'Use false, or { everyEvents?, intervalMs?, file?, signingKey?, keyId? }.',
    );
  }
}

/**
 * Validates module options and fills in defaults.
 * @throws AuditConfigurationError naming the option and how to fix it.
 */
export function resolveAuditOptions(
  input: AuditModuleOptions | undefined | null,
): ResolvedAuditOptions {
  const options = input ?? {};
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

  let serviceName = defaultServiceName();
  if (options.serviceName !== undefined) {
    if (typeof options.serviceName !== 'string' || !/^[\w.@/-]{1,100}$/.test(options.serviceName)) {
      fail(
        'serviceName',
        `must be 1-100 characters of letters, digits, '.', '_', '-', '@' or '/' (got ${JSON.stringify(options.serviceName)})`,
        'Example: serviceName: "billing-api".',
      );
    }
    serviceName = options.serviceName;
  }

  const store = options.store ?? './audit.db';
  if (
    !(typeof store === 'string' && store.length > 0) &&
    !(store instanceof AuditStore) &&
    typeof store !== 'function'
  ) {
    fail(
      'store',
      'must be a SQLite file path, an AuditStore instance or a factory returning one',
      'Example: store: "./audit.db" or store: new InMemoryAuditStore().',
    );
  }

  let stream: ResolvedAuditOptions['stream'] = { kind: 'auto' };
  const rawStream = options.stream;
  if (rawStream === false) stream = { kind: 'off' };
  else if (rawStream === undefined || rawStream === true) stream = { kind: 'auto' };
  else if (typeof rawStream === 'string') {
    if (rawStream.length === 0)
      fail('stream', 'is an empty string', 'Use "stdout", "stderr", a file path, or false.');
    stream = { kind: 'destination', destination: rawStream };
  } else if (
    typeof rawStream === 'object' &&
    rawStream !== null &&
    typeof rawStream.write === 'function'
  ) {
    stream = { kind: 'destination', destination: rawStream };
  } else {
    fail(
      'stream',
      `must be false, "stdout", "stderr", a file path or an object with write(line) (got ${typeof rawStream})`,
      'Example: stream: "./logs/audit.ndjson".',
    );
  }

  if (options.interceptor !== undefined && typeof options.interceptor !== 'boolean') {
    fail(
      'interceptor',
      'must be true or false',
      'Use interceptor: false to apply AuditInterceptor yourself.',
    );
  }
  const scope = options.scope ?? 'mutations';
  if (!SCOPES.includes(scope)) {
    fail(
      'scope',
      `must be one of ${SCOPES.map((s) => `'${s}'`).join(', ')} (got ${JSON.stringify(scope)})`,
      "The default 'mutations' audits POST/PUT/PATCH/DELETE and @Audited routes.",
    );
  }

  const exclude = options.exclude ?? [];
  if (!Array.isArray(exclude))
    fail(
      'exclude',
      'must be an array of strings or RegExps',
      'Example: exclude: ["/health", /^\\/metrics/].',
    );
  exclude.forEach((entry: unknown, index) => {
    if (!(entry instanceof RegExp) && !(typeof entry === 'string' && entry.startsWith('/'))) {
      fail(
        `exclude[${index}]`,
        `must be a path starting with "/" or a RegExp (got ${JSON.stringify(entry)})`,
        'Example: exclude: ["/health", "/internal/*"].',
      );
    }
  });

  const redactForm = resolveRedactForm(options.redact);
  const redact = checkedRedactList(redactForm.paths ?? [], 'redact');
  const redactAllow = checkedRedactList(redactForm.allow ?? [], 'redact.allow');
  if (redactForm.shapes !== undefined && typeof redactForm.shapes !== 'boolean') {
    fail('redact.shapes', 'must be true or false', 'Example: redact: { shapes: true }.');
  }

  let trustProxy: AuditTrustProxyFunction | undefined;
  if (options.trustProxy !== undefined) {
    try {
      trustProxy = compileTrustProxy(options.trustProxy);
    } catch (error) {
      fail(
        'trustProxy',
        `is invalid (${messageOf(error)})`,
        'Use a hop count (1), addresses/CIDRs (["10.0.0.0/8"]), a function (addr, i) => boolean, or leave it unset to follow the platform.',
      );
    }
  }

  if (options.trustRequestId !== undefined && typeof options.trustRequestId !== 'boolean') {
    fail(
      'trustRequestId',
      'must be true or false',
      'Set it to true only when your edge sets the request id header.',
    );
  }

  const requestIdHeader = options.requestIdHeader ?? 'x-request-id';
  if (typeof requestIdHeader !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(requestIdHeader)) {
    fail(
      'requestIdHeader',
      `must be a header name (got ${JSON.stringify(requestIdHeader)})`,
      'Example: requestIdHeader: "x-correlation-id".',
    );
  }

  const maxValueBytes = positiveInteger('maxValueBytes', options.maxValueBytes, 65536, 256);
  const maxEventBytes = positiveInteger('maxEventBytes', options.maxEventBytes, 262144, 4096);
  if (maxEventBytes < maxValueBytes) {
    fail(
      'maxEventBytes',
      `(${maxEventBytes}) is smaller than maxValueBytes (${maxValueBytes})`,
      'Raise maxEventBytes or lower maxValueBytes.',
    );
  }
  const arrayIdentityKeys = options.arrayIdentityKeys ?? ['id'];
  if (
    !Array.isArray(arrayIdentityKeys) ||
    arrayIdentityKeys.length === 0 ||
    arrayIdentityKeys.some(
      (key) => typeof key !== 'string' || key.trim() === '' || /[=\]]/.test(key),
    )
  ) {
    fail(
      'arrayIdentityKeys',
      `must be a non-empty array of key names without "=" or "]" (got ${JSON.stringify(arrayIdentityKeys)})`,
      'Example: arrayIdentityKeys: ["id", "uuid"].',
    );
  }
  const maxArrayChanges = positiveInteger('maxArrayChanges', options.maxArrayChanges, 100, 1);
  const entityRelations = oneOf(
    'entityRelations',
    options.entityRelations,
    ['id', 'full'] as const,
    'id',
  );

  const durability = oneOf('durability', options.durability, ['ack', 'async'] as const, 'ack');
  const onQueueFull = oneOf(
    'onQueueFull',
    options.onQueueFull,
    ['block', 'drop'] as const,
    'block',
  );
  const onStoreFailure = oneOf(
    'onStoreFailure',
    options.onStoreFailure,
    ['fail', 'spool'] as const,
    'fail',
  );
  const spoolPath = options.spoolPath ?? './audit.spool';
  if (typeof spoolPath !== 'string' || spoolPath.trim() === '') {
    fail('spoolPath', 'must be a file path', 'Example: spoolPath: "/var/lib/app/audit.spool".');
  }
  const maxBatch = positiveInteger('maxBatch', options.maxBatch, 100, 1);
  const maxQueue = positiveInteger('maxQueue', options.maxQueue, 10_000, 1);
  if (maxQueue < maxBatch) {
    fail(
      'maxQueue',
      `(${maxQueue}) is smaller than maxBatch (${maxBatch})`,
      'Raise maxQueue or lower maxBatch.',
    );
  }

  const alarms = resolveAlarmOptions(options.alarms);
  const privacy = resolvePrivacy(options.privacy);

  return {
    serviceName,
    store,
    stream,
    interceptor: options.interceptor ?? true,
    scope,
    exclude,
    actor: optionalFunction('actor', options.actor, 'actor: (req) => ({ id: req.user?.uid })'),
    tenant: optionalFunction(
      'tenant',
      options.tenant,
      "tenant: (req) => req.headers['x-tenant-id']",
    ),
    trustProxy,
    redact: redact.map((p) => p.trim()),
    redactAllow: redactAllow.map((p) => p.trim()),
    redactShapes: redactForm.shapes !== false,
    maxValueBytes,
    maxEventBytes,
    arrayIdentityKeys: [...(arrayIdentityKeys as readonly string[])],
    maxArrayChanges,
    entityRelations,
    shutdownTimeoutMs: positiveInteger('shutdownTimeoutMs', options.shutdownTimeoutMs, 10_000, 0),
    checkpoints: resolveCheckpoints(options.checkpoints),
    requestIdHeader: requestIdHeader.toLowerCase(),
    trustRequestId: options.trustRequestId ?? false,
    maxBatch,
    durability,
    flushIntervalMs: positiveInteger('flushIntervalMs', options.flushIntervalMs, 100, 1),
    maxQueue,
    onQueueFull,
    onStoreFailure,
    spoolPath,
    spoolMaxBytes: positiveInteger(
      'spoolMaxBytes',
      options.spoolMaxBytes,
      256 * 1024 * 1024,
      64 * 1024,
    ),
    fileMode: fileModeOf(options.fileMode),
    retryIntervalMs: positiveInteger('retryIntervalMs', options.retryIntervalMs, 1000, 10),
    ...(alarms ? { alarms } : {}),
    ...(privacy ? { privacy } : {}),
  };
}

function fileModeOf(mode: unknown): number {
  if (mode === undefined) return DEFAULT_FILE_MODE;
  const problem = fileModeProblem(mode);
  if (problem !== undefined) {
    fail('fileMode', `is invalid: ${problem}`, 'Remove it for 0o600, or give e.g. 0o640.');
  }
  return mode as number;
}
