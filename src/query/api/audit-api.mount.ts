import {
  Controller,
  UseGuards,
  type CanActivate,
  type ModuleMetadata,
  type Provider,
  type Type,
} from '@nestjs/common';
import { AuditExempt } from '../../capture/audit-exempt.decorator';
import { AuditViewerController } from '../viewer/audit-viewer.controller';
import { AuditApiHeadersGuard } from './audit-api-headers.guard';
import { AuditApiPublicNotice } from './audit-api-public.notice';
import { AuditApiRoutes } from './audit-api.controller';
import { AUDIT_API_OPTIONS, type ResolvedAuditApiOptions } from './audit-api.options';
import { AuditApiService } from './audit-api.service';

/** What the `api` option adds to the `AuditModule` dynamic module. */
export interface AuditApiModuleParts {
  /** The API and viewer controllers, mounted at the configured path. */
  controllers: Type<unknown>[];
  /** The providers they need. */
  providers: Provider[];
  /** `api.imports`, for the guards' dependencies. */
  imports: NonNullable<ModuleMetadata['imports']>;
}

/**
 * A fresh subclass of `base` with the path, guards and exemption of this registration. A new
 * class per registration, because decorators write metadata on the class: two apps (or two test
 * modules) with different paths or guards must not share one.
 */
function mount<T>(
  base: new (...args: never[]) => T,
  name: string,
  path: string,
  guards: ReadonlyArray<Type<CanActivate> | CanActivate>,
): Type<T> {
  const mounted = class extends (base as new (...args: never[]) => object) {};
  // Nest names the class in its route log ("AuditApiController {/audit}") and in DI errors.
  Object.defineProperty(mounted, 'name', { value: name });
  Controller(path)(mounted);
  if (guards.length > 0) UseGuards(...guards)(mounted);
  AuditExempt()(mounted);
  return mounted as unknown as Type<T>;
}

/**
 * The controllers, providers and imports that mount the audit API for resolved `api` options;
 * nothing when the option is absent. Spread them into the `AuditModule` dynamic module.
 *
 * @example
 * ```ts
 * const parts = auditApiModuleParts(resolveAuditApiOptions(extras.api));
 * return { ...definition, controllers: parts.controllers, providers: [...definition.providers, ...parts.providers] };
 * ```
 */
export function auditApiModuleParts(
  resolved: ResolvedAuditApiOptions | undefined,
): AuditApiModuleParts {
  if (resolved === undefined) return { controllers: [], providers: [], imports: [] };
  const { path, guards } = resolved;
  return {
    controllers: [
      // The headers guard runs first so that a denial by the configured guards is not cacheable.
      mount(AuditApiRoutes, 'AuditApiController', path, [AuditApiHeadersGuard, ...guards]),
      // The viewer sets its own headers and renders its own error pages, refusals included.
      mount(AuditViewerController, 'AuditViewerController', path, guards),
    ],
    providers: [
      { provide: AUDIT_API_OPTIONS, useValue: resolved },
      AuditApiService,
      AuditApiPublicNotice,
    ],
    imports: [...resolved.imports],
  };
}
