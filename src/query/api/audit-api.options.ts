import type { CanActivate, ModuleMetadata, Type } from '@nestjs/common';
import { auditOptionChecks as check } from '../../audit-configuration-checks';
import type { AuditHttpRequest } from '../../capture/http-adapter';
import type { KnownKeys } from '../../common/option-checks';

/** A guard for the audit API: a guard class (resolved from DI, like `@UseGuards`) or an instance. */
export type AuditApiGuard = Type<CanActivate> | CanActivate;

/**
 * The `api` option of `AuditModule.forRoot()` / `forRootAsync()`: mounts a read-only HTTP API over
 * the trail (`GET /<path>/events`, `/events/:id`, `/history/:type/:id`, `/export.csv`,
 * `/export.ndjson`, `/integrity`) and the viewer page (`GET /<path>/`).
 *
 * It is read when the module is built, so with `forRootAsync()` it is given beside the factory,
 * not returned by it. Either `guard` or `public: true` is required: the trail holds personal
 * data, and an unguarded mount must be a deliberate choice.
 *
 * @example
 * ```ts
 * AuditModule.forRoot({ api: { path: 'admin/audit', guard: AdminGuard } })
 * AuditModule.forRootAsync({ useFactory: () => ({ store: './audit.db' }), api: { guard: AdminGuard } })
 * ```
 */
export interface AuditApiOptions {
  /**
   * Where the API is mounted, relative to the app's global prefix. Leading and trailing slashes
   * are ignored; each segment is letters, digits, `.`, `_`, `~` or `-` (no route parameters).
   * @default 'audit'
   */
  path?: string;
  /**
   * Guard(s) applied to every route of the API and of the viewer page, in order, after the app's
   * global guards. A class is instantiated by Nest within `AuditModule` (so it can inject global
   * providers and those of `imports`); an instance is used as is.
   * @default none — then `public: true` is required
   */
  guard?: AuditApiGuard | readonly AuditApiGuard[];
  /**
   * Mount the API without a guard: anyone who can reach the app can read the whole trail. A
   * warning is logged at boot. Cannot be combined with `guard`.
   * @default false
   */
  public?: boolean;
  /**
   * Most events one export (`export.csv`, `export.ndjson`) may contain. An export that matches
   * more is refused with 400 when that is known before the first byte, and aborted (the client
   * sees an incomplete transfer) otherwise; narrow it with `since`/`from`/`to` or other filters.
   * @default 1000000
   */
  exportLimit?: number;
  /**
   * Modules whose exported providers a guard class needs (e.g. the module of your auth
   * service), when they are not global.
   * @default []
   */
  imports?: ModuleMetadata['imports'];
  /**
   * The reader's tenant, for a multi-tenant app: every read of the API and the viewer (list,
   * event, history, exports) then returns only events of that tenant, and an event of another
   * tenant answers 404. A reader for whom it returns no tenant (`undefined` or `''`) is refused
   * with 403. Runs after the guards.
   * @default none — readers see every tenant's events
   */
  tenant?: AuditApiTenantResolver;
}

/** Resolves the tenant of the reader of a request (sync or async); see `api.tenant`. */
export type AuditApiTenantResolver = (
  req: AuditHttpRequest,
) => string | undefined | Promise<string | undefined>;

/** The `api` option after validation and defaults. */
export interface ResolvedAuditApiOptions {
  /** Mount path without leading or trailing slashes, e.g. `admin/audit`. */
  path: string;
  /** Guards in the order they run; empty only when `isPublic`. */
  guards: readonly AuditApiGuard[];
  /** Mounted without a guard on purpose. */
  isPublic: boolean;
  /** Most events in one export. */
  exportLimit: number;
  /** Modules imported for the guards' dependencies. */
  imports: NonNullable<ModuleMetadata['imports']>;
  /** The reader's tenant resolver, when reads are scoped to a tenant. */
  tenant?: AuditApiTenantResolver;
}

/** Default mount path of the audit API. */
export const DEFAULT_AUDIT_API_PATH = 'audit';
/** Default most events in one export. */
export const DEFAULT_AUDIT_EXPORT_LIMIT = 1_000_000;

/** The keys of `api`: `satisfies` makes an option missing here a compile error. */
const KNOWN_KEYS: KnownKeys = {
  path: true,
  guard: true,
  public: true,
  exportLimit: true,
  imports: true,
  tenant: true,
} satisfies Record<keyof AuditApiOptions, true>;
const PATH_SEGMENT = /^[A-Za-z0-9._~-]+$/;

function isGuard(value: unknown): value is AuditApiGuard {
  if (typeof value === 'function') {
    const proto = (value as { prototype?: { canActivate?: unknown } }).prototype;
    return typeof proto?.canActivate === 'function';
  }
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { canActivate?: unknown }).canActivate === 'function'
  );
}

function resolvePath(raw: unknown): string {
  if (raw === undefined) return DEFAULT_AUDIT_API_PATH;
  if (typeof raw !== 'string') {
    check.mismatch('api.path', 'a string', raw, 'Example: api: { path: "admin/audit" }.');
  }
  const path = raw.trim().replace(/^\/+|\/+$/g, '');
  if (path === '') {
    check.fail(
      'api.path',
      'is empty',
      'Give a path such as "audit", so the API does not take over the root of the app.',
    );
  }
  for (const segment of path.split('/')) {
    if (!PATH_SEGMENT.test(segment)) {
      check.fail(
        'api.path',
        `has an invalid segment ${JSON.stringify(segment)} in ${JSON.stringify(raw)}`,
        'Use segments of letters, digits, ".", "_", "~" or "-" separated by single slashes, e.g. "admin/audit" (no route parameters).',
      );
    }
  }
  return path;
}

function resolveGuards(raw: unknown): AuditApiGuard[] {
  if (raw === undefined || raw === null) return [];
  const list: readonly unknown[] = Array.isArray(raw) ? raw : [raw];
  list.forEach((guard, index) => {
    if (!isGuard(guard)) {
      check.mismatch(
        Array.isArray(raw) ? `api.guard[${index}]` : 'api.guard',
        'a guard class or instance with a canActivate() method',
        guard,
        'Example: api: { guard: AdminGuard } with @Injectable() class AdminGuard implements CanActivate.',
      );
    }
  });
  return list as AuditApiGuard[];
}

/**
 * Validates the `api` option and fills in defaults.
 * @returns `undefined` when the option is absent or `false` (no API is mounted).
 * @throws AuditConfigurationError naming the option and the fix, notably when neither a guard nor
 *   `public: true` is given.
 */
export function resolveAuditApiOptions(raw: unknown): ResolvedAuditApiOptions | undefined {
  if (raw === undefined || raw === null || raw === false) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    check.mismatch(
      'api',
      'an object',
      raw,
      'Example: api: { path: "audit", guard: AdminGuard }, or api: { public: true } to mount it without a guard.',
    );
  }
  const options = raw as Record<string, unknown>;
  check.knownKeys(options, KNOWN_KEYS, (key) => `api.${key}`);
  const path = resolvePath(options.path);
  const { guards, isPublic } = resolveAccess(options);
  const tenant = resolveTenant(options.tenant);
  return {
    path,
    guards,
    isPublic,
    exportLimit: resolveExportLimit(options.exportLimit),
    imports: resolveImports(options.imports),
    ...(tenant !== undefined && { tenant }),
  };
}

/** Who may read: a guard, or an explicit `public: true`, never neither nor both. */
function resolveAccess(
  options: Record<string, unknown>,
): Pick<ResolvedAuditApiOptions, 'guards' | 'isPublic'> {
  const guards = resolveGuards(options.guard);
  const isPublic = check.optionalBoolean(
    'api.public',
    options.public,
    false,
    'Example: api: { public: true }.',
  );
  if (isPublic && guards.length > 0) {
    check.fail(
      'api.public',
      'is true while "api.guard" is set',
      'Remove "public: true" to protect the API with the guard, or remove the guard to make it public.',
    );
  }
  if (!isPublic && guards.length === 0) {
    check.fail(
      'api.guard',
      'is missing: the audit API would let anyone read the whole trail',
      'Give a guard, e.g. api: { guard: AdminGuard }, or set api: { public: true } if the app is only reachable by people allowed to read it.',
    );
  }
  return { guards, isPublic };
}

function resolveExportLimit(value: unknown): number {
  return check.wholeNumber('api.exportLimit', value, {
    fallback: DEFAULT_AUDIT_EXPORT_LIMIT,
    min: 1,
  });
}

function resolveImports(value: unknown): NonNullable<ModuleMetadata['imports']> {
  const imports = value ?? [];
  if (!Array.isArray(imports)) {
    check.mismatch(
      'api.imports',
      'an array of modules',
      imports,
      'Example: api: { guard: JwtAdminGuard, imports: [AuthModule] }.',
    );
  }
  return imports as NonNullable<ModuleMetadata['imports']>;
}

function resolveTenant(value: unknown): AuditApiTenantResolver | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    check.mismatch(
      'api.tenant',
      'a function of the request',
      value,
      'Example: api: { guard: AdminGuard, tenant: (req) => req.user?.tenantId }.',
    );
  }
  return value as AuditApiTenantResolver;
}

/** DI token of the {@link ResolvedAuditApiOptions} of the registration. */
export const AUDIT_API_OPTIONS = Symbol('audit:api-options');
