import {
  Controller,
  Get,
  Post,
  Req,
  Version,
  VersioningType,
  type INestApplication,
} from '@nestjs/common';
import { ApplicationConfig } from '@nestjs/core';
import request from 'supertest';
import { AuditModule, InMemoryAuditStore, type AuditModuleOptions } from '../../src';
import { requestPath, type AuditHttpRequest } from '../../src/capture/http-adapter';
import { compilePathPatterns, routePrefixesOf } from '../../src/capture/path-patterns';
import { CapturingLogger, startApiApp } from '../utils/api-app';
import { PLATFORMS, type Platform, type RunningApp } from '../utils/apps';

@Controller('health')
class HealthController {
  @Post()
  ping(@Req() req: AuditHttpRequest) {
    return { path: requestPath(req) };
  }
}

@Controller('orders')
class OrdersController {
  @Post()
  create(@Req() req: AuditHttpRequest) {
    return { id: 'o-1', path: requestPath(req) };
  }
}

@Controller('status')
class VersionedStatusController {
  @Get()
  @Version('2')
  read() {
    return { ok: true };
  }
}

function start(
  platform: Platform,
  store: InMemoryAuditStore,
  options: Partial<AuditModuleOptions>,
  configure: (app: INestApplication) => void,
  logger: CapturingLogger | false = false,
): Promise<RunningApp> {
  return startApiApp(
    platform,
    {
      imports: [AuditModule.forRoot({ store, stream: false, ...options })],
      controllers: [HealthController, OrdersController, VersionedStatusController],
    },
    logger,
    configure,
  );
}

describe.each(PLATFORMS)('exclude under a global prefix on %s', (platform) => {
  describe("Nest's ApplicationConfig gives the prefixes the matcher needs", () => {
    let app: RunningApp;
    beforeAll(async () => {
      app = await start(platform, new InMemoryAuditStore(), {}, (nest) => {
        nest.setGlobalPrefix('api/v1');
        nest.enableVersioning({ type: VersioningType.URI });
      });
    });
    afterAll(async () => {
      await app?.close();
    });

    it('reads the global prefix and the URI version prefix from the running app', () => {
      const prefixes = routePrefixesOf(app.app.get(ApplicationConfig));
      expect(prefixes).toEqual({ globalPrefix: 'api/v1', uriVersionPrefix: 'v' });
    });

    it('matches the paths the platform really gives, with and without the prefixes', async () => {
      const excluded = compilePathPatterns(
        ['/health', /^\/status$/],
        routePrefixesOf(app.app.get(ApplicationConfig)),
      );
      const health = await request(app.url).post('/api/v1/health?probe=1').expect(201);
      const orders = await request(app.url).post('/api/v1/orders').expect(201);
      const { path: healthPath } = health.body as { path: string };
      const { path: ordersPath } = orders.body as { path: string };
      expect(healthPath).toBe('/api/v1/health');
      expect(excluded(healthPath)).toBe(true);
      expect(excluded(ordersPath)).toBe(false);
      await request(app.url).get('/api/v1/v2/status').expect(200);
      expect(excluded('/api/v1/v2/status')).toBe(true);
    });
  });

  describe('the module', () => {
    let app: RunningApp;
    let store: InMemoryAuditStore;
    beforeAll(async () => {
      store = new InMemoryAuditStore();
      app = await start(
        platform,
        store,
        { scope: 'all', exclude: ['/health', '/status'] },
        (nest) => {
          nest.setGlobalPrefix('api/v1');
          nest.enableVersioning({ type: VersioningType.URI });
        },
      );
    });
    afterAll(async () => {
      await app?.close();
    });
    beforeEach(() => store.clear());

    it('leaves out a path excluded without the prefix, and records the others', async () => {
      await request(app.url).post('/api/v1/health').expect(201);
      // Express routes a trailing slash to the same handler; Fastify answers 404 (still excluded).
      await request(app.url)
        .post('/api/v1/health/')
        .expect(platform === 'fastify' ? 404 : 201);
      await request(app.url).get('/api/v1/v2/status').expect(200);
      await request(app.url).post('/api/v1/orders').expect(201);
      expect(store.all().map((e) => [e.action, e.request?.path])).toEqual([
        ['order.create', '/api/v1/orders'],
      ]);
    });
  });

  it('warns at boot about an exclude pattern that can never match, naming it', async () => {
    const logger = new CapturingLogger();
    const app = await start(
      platform,
      new InMemoryAuditStore(),
      { exclude: ['/health', '/search?q=1', '/users/*/avatar'] },
      (nest) => nest.setGlobalPrefix('api'),
      logger,
    );
    await app.close();
    const warnings = logger.messages('warn').filter((m) => m.includes('can never match'));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('"/search?q=1"');
    expect(warnings[1]).toContain('"/users/*/avatar"');
  });
});
