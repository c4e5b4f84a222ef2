import {
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
  type LoggerService,
  type ModuleMetadata,
} from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { AuditModule, type AuditModuleOptions } from '../../src';
import type { AuditApiOptions } from '../../src/query/api/audit-api.options';
import type { Platform, RunningApp } from './apps';

/**
 * The module metadata of an app with `AuditModule` and, when `api` is given, its HTTP API
 * mounted by the real `api` option.
 */
export function auditApiApp(
  audit: AuditModuleOptions,
  api: AuditApiOptions | undefined,
): ModuleMetadata {
  return { imports: [AuditModule.forRoot({ ...audit, ...(api === undefined ? {} : { api }) })] };
}

/** Merges extra metadata (test controllers, providers, modules) into an app's metadata. */
export function withMetadata(base: ModuleMetadata, extra: ModuleMetadata): ModuleMetadata {
  return {
    imports: [...(base.imports ?? []), ...(extra.imports ?? [])],
    controllers: [...(base.controllers ?? []), ...(extra.controllers ?? [])],
    providers: [...(base.providers ?? []), ...(extra.providers ?? [])],
  };
}

/**
 * Like `startApp`, with an optional logger (to read what the library logs) and an optional
 * `configure` step run before the app listens (where `useGlobalInterceptors()` and the like
 * must be called to take effect).
 */
export async function startApiApp(
  platform: Platform,
  metadata: ModuleMetadata,
  logger: LoggerService | false = false,
  configure?: (app: INestApplication) => void,
): Promise<RunningApp> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app: INestApplication =
    platform === 'fastify'
      ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger })
      : moduleRef.createNestApplication({ logger });
  configure?.(app);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as AddressInfo;
  let closed = false;
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}

/** A logger that keeps what it is given, by level. */
export class CapturingLogger implements LoggerService {
  readonly entries: { level: string; message: string; context?: string }[] = [];
  private keep(level: string, message: unknown, rest: unknown[]): void {
    const context = rest.length > 0 ? rest[rest.length - 1] : undefined;
    this.entries.push({
      level,
      message: String(message),
      ...(typeof context === 'string' ? { context } : {}),
    });
  }
  log(message: unknown, ...rest: unknown[]): void {
    this.keep('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.keep('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.keep('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.keep('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.keep('verbose', message, rest);
  }
  /** Messages of one level. */
  messages(level: string): string[] {
    return this.entries.filter((e) => e.level === level).map((e) => e.message);
  }
}

/** The actor the admin guards set for an admitted request. */
export const AUDITOR = { id: 'auditor-1', name: 'Ida Auditor', roles: ['auditor'] };

/** Header that {@link AdminHeaderGuard} admits. */
export const ADMIN_HEADERS = { 'x-admin': 'yes' };

/**
 * Admits requests with `x-admin: yes` and sets `req.user` the way passport would; denies
 * others (Nest answers 403).
 */
@Injectable()
export class AdminHeaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, unknown>; user?: unknown }>();
    if (req.headers['x-admin'] !== 'yes') return false;
    req.user = AUDITOR;
    return true;
  }
}

/** Rejects every request without credentials with 401, like a JWT guard. */
@Injectable()
export class RequireTokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    if (typeof req.headers.authorization !== 'string') {
      throw new UnauthorizedException('A bearer token is required to read the audit trail.');
    }
    return true;
  }
}
