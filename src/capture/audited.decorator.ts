import { SetMetadata, type Type } from '@nestjs/common';
import { AUDITED_METADATA } from '../audit.constants';
import type { AuditLevel, EcsEventCategory } from '../event/audit-event';
import { validateRedactPaths } from '../event/redact-paths';
import type { AuditHttpRequest } from './http-adapter';
import {
  ACTION_RULE,
  isActionName,
  isResourceTypeName,
  quotedForError,
} from '../event/action-name';
import { AuditConfigurationError } from '../common/audit-configuration.error';

/** What a loader is told about the call. */
export interface AuditLoadContext {
  /** `before` runs ahead of the handler, `after` once it has returned. */
  phase: 'before' | 'after';
  /** The resource type of the `@Audited` route. */
  resourceType: string;
  /** The HTTP request. */
  request: AuditHttpRequest;
}

/** A function that loads the current state of a resource by id. */
export type AuditLoadFunction = (id: string, context: AuditLoadContext) => unknown;

/**
 * An injectable class that loads the current state of a resource by id; resolved from DI, so it
 * can use your repositories.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class UserLoader implements AuditLoader {
 *   constructor(private readonly users: UsersRepository) {}
 *   load(id: string) { return this.users.findOne(id); }
 * }
 * ```
 */
export interface AuditLoader {
  load(id: string, context: AuditLoadContext): unknown;
}

/**
 * The request as `@Audited` functions receive it (Express `Request` or `FastifyRequest`): the
 * body, query and user are whatever the app's pipes and guards made of them, so they are typed
 * loosely enough for `(req) => req.body.username`.
 */
export interface AuditRouteRequest extends AuditHttpRequest {
  /* eslint-disable @typescript-eslint/no-explicit-any -- shaped by the app's own pipes */
  body?: any;
  query?: any;
  user?: any;
  /* eslint-enable @typescript-eslint/no-explicit-any */
  params?: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Options of {@link Audited}. */
export interface AuditedOptions {
  /**
   * Verb (or full `<resource>.<verb>` action) of the event.
   * @default derived from the HTTP method: POST create, PUT/PATCH update, DELETE delete, else read
   */
  action?: string;
  /**
   * Where the target id comes from: a route parameter name, or a function of the request and the
   * handler's result. The default also falls back to the result's `id` (for creations).
   * @default 'id'
   */
  id?: string | ((req: AuditRouteRequest, result: unknown) => unknown);
  /**
   * Loads the resource state, called with the id before the handler (not for creations) and
   * again after it (not for deletions), giving before/after and the changed fields. A function or
   * an injectable class implementing {@link AuditLoader} (resolved from DI).
   * @default no before/after state
   */
  load?: AuditLoadFunction | Type<AuditLoader>;
  /**
   * Human-readable description of the event.
   * @default a sentence built from action, target, actor and outcome
   */
  message?: string;
  /**
   * Record the (redacted) request body.
   * @default false
   */
  captureBody?: boolean;
  /**
   * Record the (redacted) handler result as `response.body`.
   * @default false
   */
  captureResult?: boolean;
  /**
   * Extra keys or dotted paths to redact for this route, on top of the module's and the
   * built-in denylist.
   * @default []
   */
  redact?: readonly string[];
  /**
   * Level of the ECS line.
   * @default 'info' on success, 'warn' on failure
   */
  level?: AuditLevel;
  /**
   * The principal a request tries to act as, recorded (marked unauthenticated) when the request
   * carries no authenticated user — a failed login records who tried. Typically the login
   * body's user name.
   * @default none: an unauthenticated attempt is recorded as anonymous
   * @example `principal: (req) => req.body?.username`
   */
  principal?: (req: AuditRouteRequest) => unknown;
  /**
   * ECS `event.category` override.
   * @default 'iam' for user/role/group-like resources, else 'api'
   */
  category?: EcsEventCategory;
}

/** Metadata stored by {@link Audited}. */
export interface AuditedMetadata extends AuditedOptions {
  resourceType: string;
}

/**
 * Audits a route, or every route of a controller. Method-level beats class-level; `@AuditExempt()`
 * beats `@Audited()` at the same level.
 *
 * @param resourceType Resource type recorded as `target.type` and the action prefix (`user.update`).
 * @example
 * ```ts
 * @Patch(':id/mfa')
 * @Audited('user', { load: UserLoader, message: 'Edit made to MFA information' })
 * updateMfa(@Param('id') id: string, @Body() dto: MfaDto) { ... }
 * ```
 */
export function Audited(
  resourceType: string,
  options: AuditedOptions = {},
): MethodDecorator & ClassDecorator {
  if (!isResourceTypeName(resourceType)) {
    throw new AuditConfigurationError(
      `@Audited(${quotedForError(resourceType)}): the resource type must start with a letter and contain only letters, digits, '_' or '-' (max 64), e.g. @Audited('user').`,
    );
  }
  if (options.action !== undefined && !isActionName(options.action)) {
    throw new AuditConfigurationError(
      `@Audited('${resourceType}'): action ${quotedForError(options.action)} is refused: ${ACTION_RULE}.`,
    );
  }
  if (options.load !== undefined && typeof options.load !== 'function') {
    throw new AuditConfigurationError(
      `@Audited('${resourceType}'): "load" must be a function or an injectable class.`,
    );
  }
  if (
    options.id !== undefined &&
    typeof options.id !== 'string' &&
    typeof options.id !== 'function'
  ) {
    throw new AuditConfigurationError(
      `@Audited('${resourceType}'): "id" must be a route parameter name or a function (req, result) => id.`,
    );
  }
  if (options.principal !== undefined && typeof options.principal !== 'function') {
    throw new AuditConfigurationError(
      `@Audited('${resourceType}'): "principal" must be a function of the request, e.g. (req) => req.body?.username.`,
    );
  }
  if (options.redact !== undefined) {
    try {
      validateRedactPaths(options.redact);
    } catch (error) {
      throw new AuditConfigurationError(
        `@Audited('${resourceType}'): option "redact": ${(error as Error).message}`,
      );
    }
  }
  const metadata: AuditedMetadata = { ...options, resourceType };
  return SetMetadata(AUDITED_METADATA, metadata);
}
