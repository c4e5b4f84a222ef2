import {
  Controller,
  Get,
  Injectable,
  Module,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { AuditConfigurationError, AuditService, InMemoryAuditStore } from '../../src';
import { PLATFORMS, type RunningApp } from '../utils/apps';
import {
  ADMIN_HEADERS,
  AdminHeaderGuard,
  auditApiApp,
  CapturingLogger,
  RequireTokenGuard,
  startApiApp,
  withMetadata,
} from '../utils/api-app';

/** A service of the app, in a module that is not global: a guard class injects it. */
@Injectable()
class TokenService {
  readonly valid = new Set(['t0k3n']);
  check(header: unknown): boolean {
    return typeof header === 'string' && this.valid.has(header.replace(/^Bearer /, ''));
  }
}

@Module({ providers: [TokenService], exports: [TokenService] })
class TokensModule {}

/** A guard with a dependency, resolved from DI like `@UseGuards(TokenGuard)`. */
@Injectable()
class TokenGuard implements CanActivate {
  constructor(private readonly tokens: TokenService) {}
  canActivate(context: ExecutionContext): boolean {
    const req = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, unknown>; user?: unknown }>();
    if (!this.tokens.check(req.headers.authorization))
      throw new UnauthorizedException('Bad or missing token.');
    req.user = { id: 'token-holder' };
    return true;
  }
}

@Controller('audit-like')
class NeighbourController {
  @Get('events')
  events(): { mine: true } {
    return { mine: true };
  }
}

describe.each(PLATFORMS)('audit HTTP API guards on %s', (platform) => {
  const apps: RunningApp[] = [];
  const start = async (...args: Parameters<typeof startApiApp>) => {
    const running = await startApiApp(...args);
    apps.push(running);
    return running;
  };
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  it('answers 401 when a guard throws UnauthorizedException, with Cache-Control: no-store', async () => {
    const running = await start(
      platform,
      auditApiApp(
        { store: new InMemoryAuditStore(), stream: false, trustRequestId: true },
        { guard: RequireTokenGuard },
      ),
    );
    const res = await request(running.url).get('/audit/events').expect(401);
    expect(res.body).toMatchObject({
      statusCode: 401,
      message: expect.stringMatching(/bearer token/),
    });
    expect(res.headers['cache-control']).toBe('no-store');
    await request(running.url).get('/audit/export.csv').expect(401);
    await request(running.url).get('/audit/events').set('authorization', 'Bearer x').expect(200);
    const { items } = await running.app.get(AuditService).query({ action: 'audit.read' });
    expect(items.map((e) => `${e.outcome}:${e.response?.statusCode ?? '-'}`).sort()).toEqual([
      'failure:401',
      'failure:401',
      'success:-',
    ]);
  });

  it('answers 403 when a guard returns false, and admits by its header', async () => {
    const running = await start(
      platform,
      auditApiApp(
        { store: new InMemoryAuditStore(), stream: false, trustRequestId: true },
        { guard: AdminHeaderGuard },
      ),
    );
    for (const path of [
      '/audit/events',
      '/audit/events/x',
      '/audit/history/user/1',
      '/audit/export.csv',
      '/audit/export.ndjson',
    ]) {
      const denied = await request(running.url).get(path).expect(403);
      expect(denied.headers['cache-control']).toBe('no-store');
    }
    await request(running.url).get('/audit/events').set(ADMIN_HEADERS).expect(200);
    // Each denied call is recorded as a refused read of the trail; the admitted one as its read.
    const { items } = await running.app.get(AuditService).query({ action: 'audit.read' });
    const refused = items.filter((e) => e.outcome === 'failure');
    expect(refused).toHaveLength(5);
    for (const event of refused) {
      expect(event).toMatchObject({ response: { statusCode: 403 }, labels: { via: 'api' } });
    }
    expect(refused.map((e) => e.request?.path).sort()).toEqual([
      '/audit/events',
      '/audit/events/x',
      '/audit/export.csv',
      '/audit/export.ndjson',
      '/audit/history/user/1',
    ]);
    expect(items.filter((e) => e.outcome === 'success')).toHaveLength(1);
  });

  it('resolves a guard class from DI (its module given in api.imports), and runs every guard in order', async () => {
    const seen: string[] = [];
    const recorder: CanActivate = {
      canActivate: (context) => {
        seen.push(String(context.switchToHttp().getRequest<{ user?: { id?: string } }>().user?.id));
        return true;
      },
    };
    const running = await start(
      platform,
      auditApiApp(
        { store: new InMemoryAuditStore(), stream: false, trustRequestId: true },
        { guard: [TokenGuard, recorder], imports: [TokensModule] },
      ),
    );
    await request(running.url).get('/audit/events').expect(401);
    await request(running.url)
      .get('/audit/events')
      .set('authorization', 'Bearer wrong')
      .expect(401);
    await request(running.url)
      .get('/audit/events')
      .set('authorization', 'Bearer t0k3n')
      .expect(200);
    expect(seen).toEqual(['token-holder']);
    const { items } = await running.app.get(AuditService).query({ action: 'audit.read' });
    expect(items[0]?.actor.id).toBe('token-holder');
  });

  it('serves the viewer page under the same path and guard, recorded once per read', async () => {
    const running = await start(
      platform,
      auditApiApp(
        { store: new InMemoryAuditStore(), stream: false, trustRequestId: true, scope: 'all' },
        { path: 'admin/audit', guard: AdminHeaderGuard },
      ),
    );
    const denied = await request(running.url).get('/admin/audit').expect(403);
    expect(denied.headers['content-type']).toMatch(/^text\/html/);
    const page = await request(running.url)
      .get('/admin/audit')
      .set(ADMIN_HEADERS)
      .set('x-request-id', 'viewer-1')
      .expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    await request(running.url).get('/admin/audit/view/events/nope').set(ADMIN_HEADERS).expect(404);
    const { items } = await running.app.get(AuditService).query({ requestId: 'viewer-1' });
    expect(items).toEqual([
      expect.objectContaining({
        action: 'audit.read',
        actor: expect.objectContaining({ id: 'auditor-1' }),
      }),
    ]);
  });

  it('mounts at a normalised path, beside routes of the app it does not touch', async () => {
    const running = await start(
      platform,
      withMetadata(
        auditApiApp(
          { store: new InMemoryAuditStore(), stream: false, trustRequestId: true },
          { path: '/admin/audit-trail/', guard: AdminHeaderGuard },
        ),
        { controllers: [NeighbourController] },
      ),
    );
    await request(running.url).get('/admin/audit-trail/events').set(ADMIN_HEADERS).expect(200);
    await request(running.url).get('/audit/events').set(ADMIN_HEADERS).expect(404);
    await request(running.url).get('/audit-like/events').expect(200, { mine: true });
  });

  it('serves the viewer with and without a trailing slash, under a global prefix', async () => {
    const running = await start(
      platform,
      auditApiApp(
        { store: new InMemoryAuditStore(), stream: false, trustRequestId: true },
        { path: 'admin/audit', guard: AdminHeaderGuard },
      ),
      false,
      (app) => app.setGlobalPrefix('api'),
    );
    for (const path of ['/api/admin/audit', '/api/admin/audit/']) {
      const page = await request(running.url).get(path).set(ADMIN_HEADERS).expect(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.text).toMatch(/^<!doctype html>/);
      const denied = await request(running.url).get(path).expect(403);
      expect(denied.headers['content-type']).toBe('text/html; charset=utf-8');
    }
    await request(running.url).get('/admin/audit/').set(ADMIN_HEADERS).expect(404);
  });

  if (platform === 'fastify') {
    it('boots and serves /audit/ on a Fastify app that ignores trailing slashes itself', async () => {
      const moduleRef = await Test.createTestingModule(
        auditApiApp(
          { store: new InMemoryAuditStore(), stream: false, trustRequestId: true },
          { guard: AdminHeaderGuard },
        ),
      ).compile();
      const app = moduleRef.createNestApplication(
        new FastifyAdapter({ routerOptions: { ignoreTrailingSlash: true } }),
        { logger: false },
      );
      try {
        await app.listen(0, '127.0.0.1');
        const { port } = app.getHttpServer().address() as AddressInfo;
        for (const path of ['/audit', '/audit/', '/audit/events/']) {
          await request(`http://127.0.0.1:${port}`).get(path).set(ADMIN_HEADERS).expect(200);
        }
      } finally {
        await app.close();
      }
    });
  }

  it('two apps in one process keep their own paths and guards', async () => {
    const a = await start(
      platform,
      auditApiApp(
        { store: new InMemoryAuditStore(), stream: false, trustRequestId: true },
        { path: 'a', guard: AdminHeaderGuard },
      ),
    );
    const b = await start(
      platform,
      auditApiApp(
        { store: new InMemoryAuditStore(), stream: false, trustRequestId: true },
        { path: 'b', public: true },
      ),
    );
    await request(a.url).get('/a/events').expect(403);
    await request(a.url).get('/b/events').expect(404);
    await request(b.url).get('/b/events').expect(200);
    await request(b.url).get('/a/events').expect(404);
  });

  it('boots with public: true, unguarded, and warns that the trail is readable by anyone', async () => {
    const logger = new CapturingLogger();
    const running = await start(
      platform,
      auditApiApp(
        { store: new InMemoryAuditStore(), stream: false, trustRequestId: true },
        { public: true },
      ),
      logger,
    );
    const res = await request(running.url).get('/audit/events').expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const warnings = logger.entries.filter(
      (e) => e.level === 'warn' && /api\.public: true/.test(e.message),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(
      /anyone who can reach this app can read the whole audit trail/,
    );
    expect(warnings[0]?.context).toBe('AuditModule');
  });

  it('does not warn when a guard is set', async () => {
    const logger = new CapturingLogger();
    await start(
      platform,
      auditApiApp(
        { store: new InMemoryAuditStore(), stream: false, trustRequestId: true },
        { guard: AdminHeaderGuard },
      ),
      logger,
    );
    expect(logger.messages('warn').filter((m) => /audit API/.test(m))).toEqual([]);
  });

  it('refuses to boot without a guard and without public: true', async () => {
    let error: unknown;
    try {
      const moduleRef = await Test.createTestingModule(
        auditApiApp(
          { store: new InMemoryAuditStore(), stream: false, trustRequestId: true },
          { path: 'audit' },
        ),
      ).compile();
      const app =
        platform === 'fastify'
          ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
          : moduleRef.createNestApplication({ logger: false });
      await app.close();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AuditConfigurationError);
    expect((error as Error).message).toMatch(
      /^nestjs-audit: option "api\.guard" is missing.*api: \{ public: true \}/,
    );
  });
});
