import {
  Catch,
  ClassSerializerInterceptor,
  Controller,
  ForbiddenException,
  Get,
  HttpException,
  Inject,
  NotFoundException,
  RequestTimeoutException,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type INestApplication,
  type ModuleMetadata,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, HttpAdapterHost, Reflector } from '@nestjs/core';
import { setTimeout as sleep } from 'node:timers/promises';
import { catchError, map, throwError, timeout, TimeoutError, type Observable } from 'rxjs';
import { AuditService, InMemoryAuditStore, type AuditEvent } from '../../src';
import { makeEvent } from '../fixtures/events';
import { PLATFORMS, type Platform, type RunningApp } from '../utils/apps';
import {
  ADMIN_HEADERS,
  AdminHeaderGuard,
  auditApiApp,
  startApiApp,
  withMetadata,
} from '../utils/api-app';
import { rawGet, type RawResponse } from '../utils/api-http';

/** The common `{ data }` envelope of an app's responses. */
class DataEnvelope implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((data: unknown) => ({ data })));
  }
}

/** Turns a handler that is slower than `ms` into a 408, as the Nest docs' timeout recipe does. */
class Timeout implements NestInterceptor {
  constructor(private readonly ms: number) {}
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      timeout(this.ms),
      catchError((error: unknown) =>
        throwError(() => (error instanceof TimeoutError ? new RequestTimeoutException() : error)),
      ),
    );
  }
}

/** Answers 404 for a handler that returned nothing, a pattern of many apps. */
class NothingIsNotFound implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      map((data: unknown) => {
        if (data === undefined) throw new NotFoundException('nothing');
        return data;
      }),
    );
  }
}

/** A global guard of the app: closes every route while `x-closed: yes` is sent. */
class ClosedGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    if (req.headers['x-closed'] === 'yes') throw new ForbiddenException('Closed for maintenance');
    return true;
  }
}

/** An app-wide filter that rewrites every error to its own body, keeping the status. */
@Catch()
class WrappingFilter implements ExceptionFilter {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}
  catch(exception: unknown, host: ArgumentsHost): void {
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    this.adapterHost.httpAdapter.reply(
      host.switchToHttp().getResponse(),
      { wrapped: true },
      status,
    );
  }
}

/** A route of the app itself, to prove the interceptors and filter are really in place. */
@Controller('app')
class AppController {
  @Get('hello')
  hello(): { hello: string } {
    return { hello: 'world' };
  }
  @Get('broken')
  broken(): never {
    throw new NotFoundException('gone');
  }
}

const SEEDED_AT = Date.parse('2026-03-02T10:00:00.000Z');
/** The same events in every app, so that equal answers are equal bytes. */
const SEEDED: AuditEvent[] = Array.from({ length: 3 }, (_, i) =>
  makeEvent({
    timestamp: new Date(SEEDED_AT + i * 1000).toISOString(),
    action: 'doc.update',
    target: { type: 'doc', id: `d-${i}` },
    message: `edit ${i}, "quoted"`,
  }),
);
const EVENT_ID = SEEDED[1]!.id;

/** Every route of the library, with answers of each kind: data, files, pages, and errors. */
const ROUTES = [
  '/audit/events?action=doc.update',
  `/audit/events/${EVENT_ID}`,
  '/audit/events/no-such-id',
  '/audit/history/doc/d-1',
  '/audit/events?outcome=great',
  '/audit/export.csv?action=doc.update',
  '/audit/export.ndjson?action=doc.update',
  '/audit/export.csv?limit=3',
  '/audit?action=doc.update',
  '/audit/?action=doc.update',
  `/audit/view/events/${EVENT_ID}`,
  '/audit/view/events/no-such-id',
  '/audit/view/history/doc/d-1',
  '/audit?outcome=great',
];

/** Express also routes a trailing slash to every route; Fastify only to the viewer's entry. */
const EXPRESS_ONLY = [
  '/audit/events/?action=doc.update',
  `/audit/events/${EVENT_ID}/`,
  '/audit/history/doc/d-1/',
  '/audit/export.csv/?action=doc.update',
  `/audit/view/events/${EVENT_ID}/`,
];

type AppKind = 'plain' | 'providers' | 'useGlobal';

async function startKind(platform: Platform, kind: AppKind): Promise<RunningApp> {
  const store = new InMemoryAuditStore();
  await store.append(SEEDED);
  const base = withMetadata(
    auditApiApp(
      { store, stream: false, trustRequestId: true, scope: 'all' },
      { guard: AdminHeaderGuard },
    ),
    { controllers: [AppController] },
  );
  const enhancers: ModuleMetadata = {
    providers: [
      { provide: APP_INTERCEPTOR, useClass: DataEnvelope },
      { provide: APP_INTERCEPTOR, useClass: ClassSerializerInterceptor },
      { provide: APP_INTERCEPTOR, useValue: new Timeout(5000) },
      { provide: APP_INTERCEPTOR, useClass: NothingIsNotFound },
      { provide: APP_FILTER, useClass: WrappingFilter },
      { provide: APP_GUARD, useClass: ClosedGuard },
    ],
  };
  const configure = (app: INestApplication) => {
    app.useGlobalInterceptors(
      new DataEnvelope(),
      new ClassSerializerInterceptor(app.get(Reflector)),
      new Timeout(5000),
      new NothingIsNotFound(),
    );
    app.useGlobalFilters(new WrappingFilter(app.get(HttpAdapterHost)));
    app.useGlobalGuards(new ClosedGuard());
  };
  if (kind === 'providers') return startApiApp(platform, withMetadata(base, enhancers));
  if (kind === 'useGlobal') return startApiApp(platform, base, false, configure);
  return startApiApp(platform, base);
}

/** Status, headers (but the date and connection ones) and body bytes of a response. */
function answer(res: RawResponse): { status: number; headers: object; body: string } {
  const {
    date: _date,
    connection: _connection,
    'keep-alive': _keepAlive,
    ...headers
  } = res.headers;
  return { status: res.status, headers, body: Buffer.concat(res.chunks).toString('latin1') };
}

describe.each(PLATFORMS)(
  "the audit routes are immune to the app's interceptors and filters, on %s",
  (platform) => {
    const apps = {} as Record<AppKind, RunningApp>;
    let seq = 0;
    const get = (
      kind: AppKind,
      path: string,
      requestId: string,
      headers: Record<string, string> = ADMIN_HEADERS,
    ) => rawGet(`${apps[kind].url}${path}`, { ...headers, 'x-request-id': requestId });

    beforeAll(async () => {
      for (const kind of ['plain', 'providers', 'useGlobal'] as const) {
        apps[kind] = await startKind(platform, kind);
      }
    });
    afterAll(async () => {
      for (const running of Object.values(apps)) await running.close();
    });

    it.each(['providers', 'useGlobal'] as const)(
      'the app with enhancers registered as %s wraps its own answers',
      async (kind) => {
        const ok = await get(kind, '/app/hello', 'own-1');
        expect(JSON.parse(ok.text)).toEqual({ data: { hello: 'world' } });
        const broken = await get(kind, '/app/broken', 'own-2');
        expect({ status: broken.status, body: JSON.parse(broken.text) }).toEqual({
          status: 404,
          body: { wrapped: true },
        });
      },
    );

    const routes = platform === 'express' ? [...ROUTES, ...EXPRESS_ONLY] : ROUTES;
    it.each(routes)('answers GET %s byte for byte as without them', async (path) => {
      seq += 1;
      const requestId = `${platform}-immune-${seq}`;
      const plain = answer(await get('plain', path, requestId));
      expect(plain.status).toBeLessThan(500);
      if (plain.status === 400) expect(plain.body).not.toContain('wrapped');
      for (const kind of ['providers', 'useGlobal'] as const) {
        expect(answer(await get(kind, path, requestId))).toEqual(plain);
      }
    });

    it('records each read once as audit.read, whatever the app registers', async () => {
      for (const kind of ['plain', 'providers', 'useGlobal'] as const) {
        await get(kind, '/audit/events?action=doc.update', `${platform}-once-${kind}`);
        await get(kind, '/audit?action=doc.update', `${platform}-once-viewer-${kind}`);
        const audit = apps[kind].app.get(AuditService);
        for (const requestId of [`${platform}-once-${kind}`, `${platform}-once-viewer-${kind}`]) {
          const { items } = await audit.query({ requestId });
          expect(items.map((e) => [e.action, e.outcome])).toEqual([['audit.read', 'success']]);
        }
      }
    });

    it("answers a guard's refusal in the library's format, not the app's", async () => {
      for (const path of ['/audit/events', '/audit/export.csv', '/audit']) {
        seq += 1;
        const requestId = `${platform}-denied-${seq}`;
        const plain = answer(await get('plain', path, requestId, {}));
        expect(plain.status).toBe(403);
        for (const kind of ['providers', 'useGlobal'] as const) {
          expect(answer(await get(kind, path, requestId, {}))).toEqual(plain);
        }
      }
    });

    it("still applies the app's global guards, answering their refusal in the library's format", async () => {
      const closed = { ...ADMIN_HEADERS, 'x-closed': 'yes' };
      for (const kind of ['providers', 'useGlobal'] as const) {
        const api = await get(kind, '/audit/events', `${platform}-closed-${kind}`, closed);
        expect({ status: api.status, body: JSON.parse(api.text) }).toEqual({
          status: 403,
          body: { statusCode: 403, message: 'Closed for maintenance', error: 'Forbidden' },
        });
        const page = await get(kind, '/audit', `${platform}-closed-page-${kind}`, closed);
        expect(page.status).toBe(403);
        expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(page.text).toContain('Closed for maintenance');
      }
      const open = await get('plain', '/audit/events', `${platform}-closed-plain`, closed);
      expect(open.status).toBe(200);
    });
  },
);

/** The in-memory store, with reads that take `delayMs`. */
class SlowReadStore extends InMemoryAuditStore {
  delayMs = 0;
  override async query(
    query: Parameters<InMemoryAuditStore['query']>[0],
  ): ReturnType<InMemoryAuditStore['query']> {
    await sleep(this.delayMs);
    return super.query(query);
  }
}

describe.each(PLATFORMS)("the audit routes under an app's timeout, on %s", (platform) => {
  let store: SlowReadStore;
  const apps: RunningApp[] = [];
  /** An app with a 100 ms timeout interceptor, and with or without its own filter. */
  const start = async (withFilter: boolean) => {
    const providers: ModuleMetadata['providers'] = [
      { provide: APP_INTERCEPTOR, useValue: new Timeout(100) },
      { provide: APP_INTERCEPTOR, useClass: NothingIsNotFound },
    ];
    if (withFilter) providers.push({ provide: APP_FILTER, useClass: WrappingFilter });
    const running = await startApiApp(
      platform,
      withMetadata(
        auditApiApp({ store, stream: false, trustRequestId: true }, { guard: AdminHeaderGuard }),
        {
          providers,
        },
      ),
    );
    apps.push(running);
    return running;
  };

  beforeAll(async () => {
    store = new SlowReadStore();
    await store.append(
      Array.from({ length: 5000 }, (_, i) =>
        makeEvent({
          timestamp: new Date(SEEDED_AT + i).toISOString(),
          action: 'bulk.write',
          message: 'x'.repeat(300),
        }),
      ),
    );
  });
  afterEach(async () => {
    store.delayMs = 0;
    for (const running of apps.splice(0)) await running.close();
  });

  it('streams an export to its end although the download outlasts the timeout', async () => {
    const running = await start(true);
    const res = await rawGet(
      `${running.url}/audit/export.ndjson?action=bulk.write`,
      ADMIN_HEADERS,
      { afterFirstChunk: () => sleep(400) },
    );
    expect(res.status).toBe(200);
    expect(res.complete).toBe(true);
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    expect(res.text.split('\n').filter((line) => line !== '')).toHaveLength(5000);
  });

  it("answers a timeout that fires during a read with the library's own 408", async () => {
    const plain = await start(false);
    const wrapped = await start(true);
    store.delayMs = 300;
    const headers = { ...ADMIN_HEADERS, 'x-request-id': 'slow-read' };
    for (const path of ['/audit/events', '/audit/export.csv', '/audit']) {
      const without = answer(await rawGet(`${plain.url}${path}`, headers));
      expect(without.status).toBe(408);
      expect(answer(await rawGet(`${wrapped.url}${path}`, headers))).toEqual(without);
      if (path !== '/audit') {
        expect(JSON.parse(without.body)).toEqual({
          statusCode: 408,
          message: 'Request Timeout',
        });
      }
    }
    // The reads still pending end without answering twice.
    await sleep(400);
  });
});
