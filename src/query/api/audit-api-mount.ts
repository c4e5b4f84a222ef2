import {
  Controller,
  UseFilters,
  UseGuards,
  type CanActivate,
  type ExceptionFilter,
  type ModuleMetadata,
  type Provider,
  type Type,
} from '@nestjs/common';
import { AuditExempt } from '../../capture/audit-exempt.decorator';
import { AuditRefusals } from '../../capture/route-plan';
import { AuditRouteResponder } from '../audit-route-responder';
import { AuditViewerController } from '../viewer/audit-viewer.controller';
import { AuditViewerEntryModule } from '../viewer/viewer-entry.module';
import { AuditApiExceptionFilter } from './audit-api-exception.filter';
import { AuditApiHeadersGuard } from './audit-api-headers.guard';
import { AuditApiPublicNotice } from './audit-api-public-notice';
import { AuditApiRoutes } from './audit-api.controller';
import { AUDIT_API_OPTIONS, type ResolvedAuditApiOptions } from './audit-api.options';
import { AuditApiService } from './audit-api.service';

/** What the `api` option adds to the `AuditModule` dynamic module. */
export interface AuditApiModuleParts {
  /** The API and viewer controllers, mounted at the configured path. */
  controllers: Type<unknown>[];
  /** The providers they need. */
  providers: Provider[];
  /** `api.imports`, for the guards' dependencies, and the module that serves `/<path>/`. */
  imports: NonNullable<ModuleMetadata['imports']>;
}

/**
 * A fresh subclass of `base` with the path, guards, exception filter and exemption of this
 * registration. A new class per registration, because decorators write metadata on the class:
 * two apps (or two test modules) with different paths or guards must not share one.
 */
function mount<T>(
  base: new (...args: never[]) => T,
  name: string,
  path: string,
  guards: ReadonlyArray<Type<CanActivate> | CanActivate>,
  via: string,
  filter?: Type<ExceptionFilter>,
): Type<T> {
  const mounted = class extends (base as new (...args: never[]) => object) {};
  // Nest names the class in its route log ("AuditApiController {/audit}") and in DI errors.
  Object.defineProperty(mounted, 'name', { value: name });
  Controller(path)(mounted);
  if (guards.length > 0) UseGuards(...guards)(mounted);
  if (filter !== undefined) UseFilters(filter)(mounted);
  AuditExempt()(mounted);
  // Reads record themselves; a guard's refusal never reaches them, so capture records it.
  AuditRefusals({ via })(mounted);
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
      // The headers guard runs first so that a denial by the configured guards is not cacheable;
      // the filter answers such denials in the API's format, whatever filters the app has.
      mount(
        AuditApiRoutes,
        'AuditApiController',
        path,
        [AuditApiHeadersGuard, ...guards],
        'api',
        AuditApiExceptionFilter,
      ),
      // The viewer sets its own headers and renders its own error pages, refusals included.
      mount(AuditViewerController, 'AuditViewerController', path, guards, 'viewer'),
    ],
    providers: [
      { provide: AUDIT_API_OPTIONS, useValue: resolved },
      AuditApiService,
      AuditApiPublicNotice,
      AuditRouteResponder,
    ],
    imports: [...resolved.imports, AuditViewerEntryModule],
  };
}
