import { RequestMethod, type Type } from '@nestjs/common';
import type { ModulesContainer } from '@nestjs/core';
import type { AuditScope } from '../audit.options';
import { controllerMethodsOf } from './controller-methods';
import { planRoute, type RoutePlan, type RouteFunction } from './route-plan';

const METHOD_METADATA = 'method';
const INTERCEPTORS_METADATA = '__interceptors__';
// Stamped on each controller method before Nest registers its routes; Nest copies a method's
// metadata onto the handler it gives the HTTP adapter, so the handler names its controller.
const ROUTE_OWNERS_METADATA = 'audit:route-owners';

/** The adapter methods Nest registers routes with (`RouterMethodFactory`). */
const ROUTE_REGISTRARS = [
  'get',
  'post',
  'put',
  'delete',
  'patch',
  'all',
  'options',
  'head',
  'search',
  'propfind',
  'proppatch',
  'mkcol',
  'copy',
  'move',
  'lock',
  'unlock',
  'query',
] as const;

/** The controller method behind a route. */
export interface RouteOwner {
  controller: Type<unknown>;
  method: RouteFunction;
}

/** Called when a request reaches the handler of an audited route, before guards run. */
export type RouteEntryListener = (req: unknown, res: unknown, route: RouteOwner) => void;

/** What the catalog needs to know of the module options. */
export interface RouteCatalogSettings {
  scope: AuditScope;
  /** Whether the global interceptor is on; without it only `@UseInterceptors` routes count. */
  interceptor: boolean;
  /** The interceptor class, to recognise `@UseInterceptors(AuditInterceptor)`. */
  interceptorType: Type<unknown>;
}

/**
 * Knows, for every route of the app, whether and how it is audited — decided once, when Nest
 * registers the routes, so a request on a route that is not audited meets no audit code at all.
 *
 * It wraps the route handlers of audited routes (so capture learns the route before any guard
 * runs) and keeps a `METHOD path` table for requests refused before routing.
 */
export class RouteCatalog {
  private readonly byRoute = new Map<string, RouteOwner>();
  private readonly planned = new WeakMap<object, Map<string, RoutePlan | null>>();
  private readonly methods = new Set<string>();
  private anyMethod = false;

  constructor(private readonly settings: RouteCatalogSettings) {}

  /** Whether a request with this method may be on an audited route. */
  mayAudit(method: string): boolean {
    return this.anyMethod || this.methods.has(method);
  }

  /** The audited route registered as `path` for `method`, if any. */
  private routeForPath(method: string, path: string): RouteOwner | undefined {
    return this.byRoute.get(`${method} ${path}`) ?? this.byRoute.get(`* ${path}`);
  }

  /**
   * The plan of the route registered as `path`, for a request method: `undefined` when no
   * audited route is registered there, `null` when that route does not audit this method.
   */
  planForPath(method: string, path: string): RoutePlan | null | undefined {
    const route = this.routeForPath(method, path);
    return route && this.planOf(route, method);
  }

  /** The plan of a route for a request method (`null`: not audited). */
  planOf(route: RouteOwner, method: string): RoutePlan | null {
    return this.planFor(route.method, route.controller, method);
  }

  /** The plan of a controller method for an HTTP method (`null`: not audited). */
  planFor(handler: object, controller: Type<unknown>, method: string): RoutePlan | null {
    let byMethod = this.planned.get(handler);
    if (!byMethod) {
      byMethod = new Map();
      this.planned.set(handler, byMethod);
    }
    let plan = byMethod.get(method);
    if (plan === undefined) {
      plan = planRoute(handler, controller, method, this.settings.scope);
      if (plan && !plan.refusalsOnly && !this.isCaptured(handler, controller)) plan = null;
      byMethod.set(method, plan);
    }
    return plan;
  }

  /** Marks every controller method with its controller, ahead of route registration. */
  stampControllers(modules: ModulesContainer): void {
    for (const { controller, method } of controllerMethodsOf(modules)) {
      if (Reflect.getMetadata(METHOD_METADATA, method) === undefined) continue;
      const owners = (Reflect.getMetadata(ROUTE_OWNERS_METADATA, method) ?? []) as RouteOwner[];
      if (owners.some((o) => o.controller === controller)) continue;
      const owner: RouteOwner = { controller, method: method as RouteFunction };
      Reflect.defineMetadata(ROUTE_OWNERS_METADATA, [...owners, owner], method);
    }
  }

  /**
   * The controller methods whose routes the interceptor enriches (audited, and not one of the
   * library's own read routes), decided before Nest registers the routes.
   */
  *enrichedMethods(modules: ModulesContainer): Iterable<object> {
    for (const { controller, method } of controllerMethodsOf(modules)) {
      const verb: unknown = Reflect.getMetadata(METHOD_METADATA, method);
      if (typeof verb !== 'number') continue;
      const httpMethod = verb === Number(RequestMethod.ALL) ? '*' : RequestMethod[verb];
      if (httpMethod === undefined) continue;
      const plans = this.routePlans(method, controller, httpMethod);
      if (plans.some((plan) => plan !== null && !plan.refusalsOnly)) yield method;
    }
  }

  /**
   * The plans of a route registered for `httpMethod` (`*` for `@All()`): a route declared with
   * `@All()` is planned per request method, and audited if any is.
   */
  private routePlans(
    handler: object,
    controller: Type<unknown>,
    httpMethod: string,
  ): (RoutePlan | null)[] {
    const probes = httpMethod === '*' ? ['GET', 'POST'] : [httpMethod];
    return probes.map((method) => this.planFor(handler, controller, method));
  }

  /**
   * Wraps the adapter's route registration methods, so each audited route's handler is wrapped
   * as Nest registers it. Routes that are not audited are registered untouched.
   */
  interceptRegistration(adapter: object, onEntry: RouteEntryListener): void {
    const target = adapter as Record<string, unknown>;
    for (const name of ROUTE_REGISTRARS) {
      const original = target[name];
      if (typeof original !== 'function') continue;
      const register = original as (...args: unknown[]) => unknown;
      const httpMethod = name === 'all' ? '*' : name.toUpperCase();
      target[name] = (...args: unknown[]): unknown => {
        const last = args.length - 1;
        const handler = args[last];
        const path = args.length > 1 && typeof args[0] === 'string' ? args[0] : undefined;
        if (typeof handler === 'function') {
          args[last] = this.wrapHandler(handler as RouteFunction, httpMethod, path, onEntry);
        }
        return register.apply(adapter, args);
      };
    }
  }

  private wrapHandler(
    handler: RouteFunction,
    httpMethod: string,
    path: string | undefined,
    onEntry: RouteEntryListener,
  ): RouteFunction {
    const owner = this.ownerOf(handler);
    if (!owner) return handler;
    if (!this.routePlans(owner.method, owner.controller, httpMethod).some(Boolean)) return handler;
    if (httpMethod === '*') this.anyMethod = true;
    else this.methods.add(httpMethod);
    if (path !== undefined) this.byRoute.set(`${httpMethod} ${path}`, owner);
    const wrapped = function (this: unknown, req: unknown, res: unknown, ...rest: unknown[]) {
      onEntry(req, res, owner);
      return (handler as (...args: unknown[]) => unknown).call(this, req, res, ...rest);
    };
    // Adapters read route options (version, Fastify config) from the handler's properties and
    // metadata: the wrapper carries the same.
    Object.assign(wrapped, handler);
    for (const key of Reflect.getMetadataKeys(handler)) {
      Reflect.defineMetadata(key, Reflect.getMetadata(key, handler), wrapped);
    }
    Object.defineProperty(wrapped, 'name', { value: handler.name, configurable: true });
    return wrapped;
  }

  private ownerOf(handler: RouteFunction): RouteOwner | undefined {
    const owners = Reflect.getMetadata(ROUTE_OWNERS_METADATA, handler) as RouteOwner[] | undefined;
    if (!owners || owners.length === 0) return undefined;
    if (owners.length === 1) return owners[0];
    // A method inherited by several controllers: Nest names the handler `Class.method`.
    const className = handler.name.split('.')[0];
    return owners.find((o) => o.controller.name === className) ?? owners[0];
  }

  private isCaptured(handler: object, controller: Type<unknown>): boolean {
    if (this.settings.interceptor) return true;
    const type = this.settings.interceptorType;
    const uses = (target: object): boolean => {
      const list = Reflect.getMetadata(INTERCEPTORS_METADATA, target) as unknown[] | undefined;
      return (list ?? []).some(
        (i) => i === type || (typeof i === 'function' && i.prototype instanceof type),
      );
    };
    return uses(handler) || uses(controller);
  }
}
