/**
 * Where Express and Fastify differ for request capture: how a request is met on arrival (before
 * body parsers and middleware can refuse it), and how the route of a refused request is found.
 * No framework types are imported: the library works with either adapter installed alone.
 */

/** What capture asks of the platform. */
export interface CaptureCallbacks {
  /** Whether every request is recorded (`scope: 'all'`), also those that match no route. */
  everyRequest: boolean;
  /** Whether the route registered as `url` for `method` is audited. */
  isAuditedRoute(method: string, url: string): boolean;
  /** A request arrived: open its record if it may be audited. */
  arrive(req: object, res: object): void;
  /** A response finished that no arrival hook saw (Fastify middleware refusals). */
  finishedUnseen(req: object, res: object): void;
}

/** The route of a request as the platform registered it (`path` as given to the adapter). */
export interface PlatformRoute {
  path?: string;
  /** False when no route of the app matches (a 404, or a refusal before routing). */
  matched: boolean;
}

interface ExpressLayer {
  route?: { path?: unknown; _handlesMethod?: (method: string) => boolean };
  match?: (path: string) => unknown;
}

interface ExpressApp {
  use(fn: (req: object, res: object, next: () => void) => void): unknown;
  router?: { stack?: ExpressLayer[] };
  _router?: { stack?: ExpressLayer[] };
}

interface FastifyLike {
  addHook(name: string, hook: (...args: unknown[]) => unknown): unknown;
}

function stackOf(app: ExpressApp): ExpressLayer[] | undefined {
  return (app.router ?? app._router)?.stack;
}

/** Installs the arrival hook first in the Express stack, ahead of Nest's body parsers. */
function installExpress(app: ExpressApp, callbacks: CaptureCallbacks): boolean {
  app.use((req, res, next) => {
    callbacks.arrive(req, res);
    next();
  });
  const stack = stackOf(app);
  const ours = stack?.pop();
  if (!stack || !ours) return false;
  stack.unshift(ours);
  return true;
}

type FastifyHook = (...args: unknown[]) => unknown;

interface FastifyRouteOptions {
  method?: string | string[];
  url?: string;
  onRequest?: FastifyHook | FastifyHook[];
  onResponse?: FastifyHook | FastifyHook[];
}

function withHook(
  existing: FastifyHook | FastifyHook[] | undefined,
  hook: FastifyHook,
): FastifyHook[] {
  if (existing === undefined) return [hook];
  return Array.isArray(existing) ? [...existing, hook] : [existing, hook];
}

/**
 * Fastify routes before its hooks run, so `onRequest` already knows the route; middleware
 * (middie) runs in an earlier `onRequest` hook, and what it refuses is seen at `onResponse`.
 * The hooks are added to the audited routes only (as they are registered), so the others run
 * none; with `everyRequest`, to every request, routed or not.
 */
function installFastify(fastify: FastifyLike, callbacks: CaptureCallbacks): boolean {
  const onRequest: FastifyHook = (req, reply, done) => {
    callbacks.arrive(req as object, reply as object);
    (done as () => void)();
  };
  const onResponse: FastifyHook = (req, reply, done) => {
    callbacks.finishedUnseen(req as object, reply as object);
    (done as () => void)();
  };
  if (callbacks.everyRequest) {
    fastify.addHook('onRequest', onRequest);
    fastify.addHook('onResponse', onResponse);
    return true;
  }
  fastify.addHook('onRoute', (options: unknown) => {
    const route = options as FastifyRouteOptions;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const url = route.url;
    if (url === undefined) return;
    if (!methods.some((m) => m !== undefined && callbacks.isAuditedRoute(m.toUpperCase(), url))) {
      return;
    }
    route.onRequest = withHook(route.onRequest, onRequest);
    route.onResponse = withHook(route.onResponse, onResponse);
  });
  return true;
}

/** The kind of HTTP platform behind an adapter instance. */
export type PlatformKind = 'express' | 'fastify' | 'other';

/** Which platform `instance` (the adapter's `getInstance()`) is. */
export function platformOf(instance: unknown): PlatformKind {
  if (instance === null || (typeof instance !== 'object' && typeof instance !== 'function')) {
    return 'other';
  }
  const i = instance as Record<string, unknown>;
  if (typeof i.addHook === 'function' && typeof i.inject === 'function') return 'fastify';
  if (typeof i.use === 'function' && typeof i.handle === 'function') return 'express';
  return 'other';
}

/** Installs the arrival hooks; false when the platform is not one the library knows. */
export function installArrivalHooks(instance: unknown, callbacks: CaptureCallbacks): boolean {
  const kind = platformOf(instance);
  if (kind === 'express') return installExpress(instance as ExpressApp, callbacks);
  if (kind === 'fastify') return installFastify(instance as FastifyLike, callbacks);
  return false;
}

function pathOnly(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * The route a request is on, as the platform knows it. With `search`, also the route an Express
 * request refused before routing was for (a walk over the router: only once a request is over).
 */
export function platformRouteOf(instance: unknown, req: object, search = true): PlatformRoute {
  const r = req as {
    route?: { path?: unknown };
    routeOptions?: { url?: unknown };
    method?: string;
    originalUrl?: string;
    url?: string;
  };
  const fastifyUrl = r.routeOptions?.url;
  if (typeof fastifyUrl === 'string') return { path: fastifyUrl, matched: true };
  if (r.routeOptions) return { matched: false };
  if (typeof r.route?.path === 'string') return { path: r.route.path, matched: true };
  if (!search || platformOf(instance) !== 'express') return { matched: false };
  // Refused before Express routed it (body parser, middleware): find the route it was for.
  const path = pathOnly(r.originalUrl ?? r.url ?? '/');
  const method = (r.method ?? 'GET').toUpperCase();
  for (const layer of stackOf(instance as ExpressApp) ?? []) {
    const route = layer.route;
    if (!route || typeof route.path !== 'string' || typeof layer.match !== 'function') continue;
    if (route._handlesMethod && !route._handlesMethod(method)) continue;
    if (layer.match(path)) return { path: route.path, matched: true };
  }
  return { matched: false };
}
