import { AuditLogger } from '../common/audit-logger';
import { Injectable, type Type } from '@nestjs/common';
import { ModuleRef, type ModulesContainer } from '@nestjs/core';
import { AUDITED_METADATA } from '../audit.constants';
import { AuditConfigurationError } from '../common/audit-configuration.error';
import type { AuditedMetadata, AuditLoader } from './audited.decorator';
import { controllerMethodsOf, controllersOf } from './controller-methods';
import type { AuditHttpRequest } from './http-adapter';
import type { RoutePlan } from './route-plan';

/** What a load returned: the state, or that there is none to be had. */
export type LoadResult = { ok: true; value: unknown } | { ok: false };

const NOT_LOADED: LoadResult = Object.freeze({ ok: false });

function isLoaderClass(load: unknown): load is Type<AuditLoader> {
  // A class (an injectable loader) has a prototype with a load method; a plain function does not.
  const proto = (load as { prototype?: { load?: unknown } } | null)?.prototype;
  return !!proto && typeof proto.load === 'function';
}

/**
 * Runs the `load` of `@Audited` routes: a function, or an injectable loader class resolved from
 * the container (checked at boot, so a loader missing from `providers` stops the app at start).
 */
@Injectable()
export class AuditLoaders {
  private readonly instances = new Map<Type<AuditLoader>, AuditLoader>();
  private readonly logger = new AuditLogger();

  constructor(private readonly moduleRef: ModuleRef) {}

  /**
   * Resolves the loader class of every `@Audited` controller and method.
   * @throws AuditConfigurationError naming the controller, the handler and the fix
   */
  verify(modules: ModulesContainer): void {
    for (const controller of controllersOf(modules)) {
      this.verifyTarget(controller, controller, undefined);
    }
    for (const { controller, name, method } of controllerMethodsOf(modules)) {
      this.verifyTarget(method, controller, name);
    }
  }

  /**
   * Loads the state of `id` for a route, or says it could not. Written with one `then` rather
   * than as an async function: it runs twice per audited update, and while the request context
   * is on, every promise and every await also runs the context's hooks.
   */
  load(
    plan: RoutePlan,
    req: AuditHttpRequest,
    id: string,
    phase: 'before' | 'after',
  ): Promise<LoadResult> {
    const load = plan.meta?.load;
    if (!load) return Promise.resolve(NOT_LOADED);
    let loading: unknown;
    try {
      const context = { phase, resourceType: plan.resourceType, request: req };
      loading = isLoaderClass(load)
        ? this.instanceOf(load).load(id, context)
        : load(id, context);
    } catch (error) {
      return Promise.resolve(this.failed(plan, phase, error));
    }
    return Promise.resolve(loading).then(
      (value): LoadResult => ({ ok: true, value }),
      (error: unknown) => this.failed(plan, phase, error),
    );
  }

  private failed(plan: RoutePlan, phase: 'before' | 'after', error: unknown): LoadResult {
    // Neither the id nor the error text goes into the line: both can carry a client's input.
    this.logger.warn(
      `nestjs-audit: loading the ${phase}-state of a ${plan.resourceType} failed (${error instanceof Error ? error.name : typeof error}); the event records no ${phase}-state.`,
    );
    return NOT_LOADED;
  }

  private verifyTarget(
    target: object,
    controller: Type<unknown>,
    handler: string | undefined,
  ): void {
    const meta = Reflect.getMetadata(AUDITED_METADATA, target) as AuditedMetadata | undefined;
    if (!meta?.load || !isLoaderClass(meta.load)) return;
    try {
      this.instanceOf(meta.load);
    } catch {
      const where = handler ? `${controller.name}.${handler}()` : controller.name;
      throw new AuditConfigurationError(
        `nestjs-audit: the loader ${meta.load.name} of @Audited('${meta.resourceType}') on ${where} is not a provider. Add ${meta.load.name} to the "providers" of the module that declares ${controller.name}, or pass a function to "load".`,
      );
    }
  }

  private instanceOf(type: Type<AuditLoader>): AuditLoader {
    const known = this.instances.get(type);
    if (known) return known;
    const instance: AuditLoader = this.moduleRef.get(type, { strict: false });
    this.instances.set(type, instance);
    return instance;
  }
}
