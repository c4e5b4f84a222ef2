import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';

/** The sample's stand-in for passport: `Authorization: Bearer <name>` picks one of these staff users. */
export const STAFF: Record<string, { id: string; email: string; name: string; roles: string[] }> = {
  alice: { id: 'staff-1', email: 'alice@example.com', name: 'Alice Admin', roles: ['admin'] },
  sam: { id: 'staff-2', email: 'sam@example.com', name: 'Sam Support', roles: ['support'] },
};

/** Sets `req.user` like a passport strategy would; the token itself is never recorded. */
@Injectable()
export class DemoAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; user?: unknown }>();
    const token = /^Bearer (\w+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token && STAFF[token]) req.user = STAFF[token];
    return true;
  }
}

/** Lets only admins through (a method guard): anyone else gets a 403, which is recorded too. */
@Injectable()
export class AdminOnlyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ user?: { roles?: string[] } }>();
    return req.user?.roles?.includes('admin') ?? false;
  }
}
