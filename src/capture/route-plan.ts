import type { Type } from '@nestjs/common';
import {
  AUDIT_EXEMPT_METADATA,
  AUDIT_REFUSALS_METADATA,
  AUDITED_METADATA,
} from '../audit.constants';
import type { AuditScope } from '../audit.options';
import { verbForHttpMethod } from '../event/categorize';
import { resourceTypeOf } from '../event/resource-type';
import type { AuditedMetadata } from './audited.decorator';

/** How one route (handler + HTTP method) is audited; computed once per route and cached. */
export interface RoutePlan {
  /** `target.type` and the action prefix. */
  resourceType: string;
  /** The verb of the action (`create`, `update`, `login`...). */
  verb: string;
  /** `<resourceType>.<verb>`, or the full action given to `@Audited`. */
  action: string;
  /** The `@Audited` options of the route, when it is decorated. */
  meta?: AuditedMetadata;
  /**
   * Only a guard's refusal (401, 403) is recorded here, with these labels: the route records
   * its own successful reads (the library's API and viewer).
   */
  refusalsOnly?: { labels: Record<string, string> };
}

/** What `@AuditRefusals()` stores. */
interface RefusalsMetadata {
  labels: Record<string, string>;
}

/**
 * Marks one of the library's own read routes (class level): see {@link RoutePlan.refusalsOnly}.
 * @internal
 */
export function AuditRefusals(labels: Record<string, string>): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(AUDIT_REFUSALS_METADATA, { labels } satisfies RefusalsMetadata, target);
  };
}

/** A function Nest registers as a route handler, or a controller method. */
export type RouteFunction = (...args: never[]) => unknown;

const MUTATING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const PATH_METADATA = 'path';
const NAME_SEGMENT = /^[A-Za-z][\w-]*$/;

/** Whether `method` changes state (the `mutations` scope). */
export function isMutatingMethod(method: string): boolean {
  return MUTATING_METHODS.has(method);
}

/**
 * The resource type of an undecorated route: the controller's first literal path segment, else
 * its class name without `Controller`, named by the rule the ORM integrations use
 * (`resourceTypeOf`: `orders` and `OrderItemsController` give `order` and `order_item`), so that
 * one record's events share one type. Decorated routes use the `@Audited` resource type.
 */
export function controllerResourceType(controller: Type<unknown>): string {
  const path: unknown = Reflect.getMetadata(PATH_METADATA, controller);
  const first = (Array.isArray(path) ? path[0] : path) as unknown;
  if (typeof first === 'string') {
    const segment = first.split('/').find((s) => NAME_SEGMENT.test(s));
    const type = segment === undefined ? '' : resourceTypeOf(segment);
    if (type !== '') return type;
  }
  const fromName = controller.name.replace(/Controller$/, '');
  const type = NAME_SEGMENT.test(fromName) ? resourceTypeOf(fromName) : '';
  return type === '' ? 'http' : type;
}

function metadataOf<T>(key: string, target: object): T | undefined {
  return Reflect.getMetadata(key, target) as T | undefined;
}

/**
 * The `@Audited` metadata that applies to a route, or `null` when `@AuditExempt` wins: method
 * level beats class level, and at the same level `@AuditExempt` beats `@Audited`.
 */
export function auditedMetadataOf(
  handler: object,
  controller: object,
): AuditedMetadata | null | undefined {
  if (metadataOf<boolean>(AUDIT_EXEMPT_METADATA, handler)) return null;
  const onMethod = metadataOf<AuditedMetadata>(AUDITED_METADATA, handler);
  if (onMethod) return onMethod;
  if (metadataOf<boolean>(AUDIT_EXEMPT_METADATA, controller)) return null;
  return metadataOf<AuditedMetadata>(AUDITED_METADATA, controller);
}

/**
 * How a route is audited under `scope`, or `null` when it is not audited at all.
 *
 * @param handler the controller method
 * @param controller the controller class
 * @param method the HTTP method, upper case
 */
export function planRoute(
  handler: object,
  controller: Type<unknown>,
  method: string,
  scope: AuditScope,
): RoutePlan | null {
  const refusals = metadataOf<RefusalsMetadata>(AUDIT_REFUSALS_METADATA, controller);
  if (refusals) {
    return { resourceType: 'audit', verb: 'read', action: 'audit.read', refusalsOnly: refusals };
  }
  const meta = auditedMetadataOf(handler, controller);
  if (meta === null) return null;
  if (!meta) {
    if (scope === 'decorated') return null;
    if (scope === 'mutations' && !isMutatingMethod(method)) return null;
  }
  const resourceType = meta?.resourceType ?? controllerResourceType(controller);
  const configured = meta?.action;
  if (configured?.includes('.')) {
    const verb = configured.slice(configured.lastIndexOf('.') + 1);
    return { resourceType, verb, action: configured, ...(meta ? { meta } : {}) };
  }
  const verb = configured ?? verbForHttpMethod(method);
  return { resourceType, verb, action: `${resourceType}.${verb}`, ...(meta ? { meta } : {}) };
}

/**
 * The plan of a request that matched no route of the app (a 404, or refused by a middleware
 * before routing): recorded only under `scope: 'all'`.
 */
export function unroutedPlan(method: string): RoutePlan {
  const verb = verbForHttpMethod(method);
  return { resourceType: 'http', verb, action: `http.${verb}` };
}
