import { Inject, Module, type NestModule, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

/**
 * Metadata key that tags the viewer's entry route (the list page at the mount path), so that it
 * can be recognised among the routes the adapter registers.
 * @internal
 */
export const VIEWER_ENTRY_METADATA = 'audit:viewer-entry';

/** The route options Fastify gives its `onRoute` hooks, as far as they are read here. */
interface FastifyRouteOptions {
  method: string | string[];
  url: string;
  handler: object;
  constraints?: unknown;
  config?: unknown;
  schema?: unknown;
}

interface TrailingSlashOption {
  ignoreTrailingSlash?: boolean;
}

/** The few members of a Fastify instance used here (no Fastify types: it is an optional peer). */
interface FastifyInstanceLike {
  addHook(name: 'onRoute', hook: (route: FastifyRouteOptions) => void): unknown;
  route(options: FastifyRouteOptions): unknown;
  initialConfig?: TrailingSlashOption & { routerOptions?: TrailingSlashOption };
}

/** Whether the app's Fastify router already matches a path with and without its last slash. */
function ignoresTrailingSlash(fastify: FastifyInstanceLike): boolean {
  const config = fastify.initialConfig;
  return (
    config?.ignoreTrailingSlash === true || config?.routerOptions?.ignoreTrailingSlash === true
  );
}

function isViewerEntry(route: FastifyRouteOptions): boolean {
  return (
    route.method === 'GET' &&
    typeof route.handler === 'function' &&
    !route.url.endsWith('/') &&
    Reflect.getMetadata(VIEWER_ENTRY_METADATA, route.handler) === true
  );
}

/**
 * Serves the viewer at `/<path>/` as well as `/<path>` on Fastify, as Express does: a person
 * types or bookmarks either. Fastify's router tells the two apart unless the app set
 * `ignoreTrailingSlash`, and Nest cannot declare a route with a trailing slash (it strips it), so
 * the route Nest registers for the entry is registered once more, with the slash, and the same
 * handler: guards, global prefix and everything else Nest put around it stay identical.
 *
 * `configure()` is used only for when Nest calls it: after the HTTP adapter is attached and
 * before the routes are registered, the one moment to watch them with an `onRoute` hook. The twin
 * is added once the routes are in (`onModuleInit`), not from inside the hook.
 * @internal
 */
@Module({})
export class AuditViewerEntryModule implements NestModule, OnModuleInit {
  private fastify: FastifyInstanceLike | undefined;
  private readonly entries: FastifyRouteOptions[] = [];

  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  /** @inheritdoc */
  configure(): void {
    const adapter = this.adapterHost.httpAdapter as
      { getType(): string; getInstance<T>(): T } | undefined;
    if (adapter?.getType() !== 'fastify') return;
    const fastify = adapter.getInstance<FastifyInstanceLike>();
    if (ignoresTrailingSlash(fastify)) return;
    this.fastify = fastify;
    fastify.addHook('onRoute', (route) => {
      if (isViewerEntry(route)) this.entries.push(route);
    });
  }

  /** @inheritdoc */
  onModuleInit(): void {
    const fastify = this.fastify;
    if (fastify === undefined) return;
    for (const { method, url, handler, constraints, config, schema } of this.entries.splice(0)) {
      try {
        fastify.route({ method, url: `${url}/`, handler, constraints, config, schema });
      } catch (error) {
        // A route of the app already answers there: it keeps it.
        if ((error as { code?: unknown }).code !== 'FST_ERR_DUPLICATED_ROUTE') throw error;
      }
    }
  }
}
