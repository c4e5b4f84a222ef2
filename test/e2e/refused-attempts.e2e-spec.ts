import {
  Body,
  Catch,
  ConflictException,
  Controller,
  Delete,
  ForbiddenException,
  Injectable,
  Module,
  Param,
  Patch,
  Post,
  Put,
  Res,
  SetMetadata,
  UnauthorizedException,
  UseGuards,
  ValidationPipe,
  type ArgumentsHost,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type MiddlewareConsumer,
  type NestMiddleware,
  type NestModule,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, HttpAdapterHost, Reflector } from '@nestjs/core';
import { IsEmail, IsString, MinLength } from 'class-validator';
import { request as httpRequest, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import request from 'supertest';
import {
  Audited,
  AuditModule,
  AuditService,
  InMemoryAuditStore,
  type AuditEvent,
  type AuditLoadContext,
} from '../../src';
import { eventually } from '../utils/alarm-inbox';
import {
  clientGone,
  PLATFORMS,
  startApp,
  type PassthroughResponse,
  type RunningApp,
} from '../utils/apps';

const PUBLIC = 'test:public';

/** A global guard (like a JWT guard): 401 unless `Authorization: User <id>` is sent. */
@Injectable()
class TokenGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}
  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.get<boolean>(PUBLIC, context.getHandler())) return true;
    const req = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string>; user?: unknown }>();
    const match = /^User (\w+)$/.exec(req.headers.authorization ?? '');
    if (!match) throw new UnauthorizedException('a user token is required');
    req.user = { id: match[1], roles: match[1] === 'admin' ? ['admin'] : ['member'] };
    return true;
  }
}

/** A method guard: 403 for anyone but an admin. */
@Injectable()
class AdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ user?: { roles?: string[] } }>();
    return req.user?.roles?.includes('admin') ?? false;
  }
}

class ConflictError extends Error {}

/** An app filter that answers 422 for a domain error: the status actually sent. */
@Catch(ConflictError)
class ConflictFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}
  catch(error: ConflictError, host: ArgumentsHost): void {
    const res: unknown = host.switchToHttp().getResponse();
    this.adapterHost.httpAdapter.reply(res, { message: error.message, code: 'CONFLICT' }, 422);
  }
}

class CreateThingDto {
  @IsString()
  @MinLength(3)
  name!: string;

  @IsEmail()
  owner!: string;
}

interface Thing {
  id: string;
  name: string;
  [field: string]: unknown;
}

/** A tiny repository the loaders read. */
@Injectable()
class Things {
  readonly rows = new Map<string, Thing>([['1', { id: '1', name: 'first' }]]);
  find(id: string): Thing | undefined {
    const row = this.rows.get(id);
    return row ? { ...row } : undefined;
  }
}

let slowEntered: () => void = () => undefined;

@Controller('things')
class ThingsController {
  constructor(private readonly things: Things) {}

  @Post()
  @Audited('thing')
  create(@Body(new ValidationPipe()) dto: CreateThingDto): Thing {
    const thing = { id: String(this.things.rows.size + 1), name: dto.name };
    this.things.rows.set(thing.id, thing);
    return thing;
  }

  @Patch(':id')
  @Audited('thing', { load: (id: string) => thingsRef.find(id) })
  rename(@Param('id') id: string, @Body() body: { name?: string }): Thing {
    if (body.name === 'forbidden') throw new ForbiddenException('names like this are not allowed');
    const thing = this.things.rows.get(id);
    if (!thing) throw new ForbiddenException('no such thing');
    thing.name = body.name ?? thing.name;
    return { ...thing };
  }

  @Delete(':id')
  @UseGuards(AdminGuard)
  @Audited('thing')
  remove(@Param('id') id: string): void {
    this.things.rows.delete(id);
  }

  /** Sets any fields: a hostile client can send thousands of them around one that matters. */
  @Patch(':id/fields')
  @Audited('thing', { load: (id: string) => thingsRef.find(id) })
  setFields(@Param('id') id: string, @Body() body: Record<string, unknown>): Thing {
    const thing = this.things.rows.get(id);
    if (!thing) throw new ForbiddenException('no such thing');
    Object.assign(thing, body);
    return { ...thing };
  }

  /** A failed change whose after-state cannot be loaded (the loader fails the second time). */
  @Patch(':id/fragile')
  @Audited('thing', {
    load: (id: string, ctx: AuditLoadContext) => {
      if (ctx.phase === 'after') throw new Error('the database went away');
      return thingsRef.find(id);
    },
  })
  fragile(): never {
    throw new ConflictException('someone else changed it');
  }

  /** A download that pipes into the response and waits for it: the hold must not wait for it. */
  @Post(':id/download')
  @Audited('thing', { action: 'export', load: (id: string) => thingsRef.find(id) })
  async download(
    @Res() res: { raw?: NodeJS.WritableStream } & NodeJS.WritableStream,
  ): Promise<void> {
    const raw = (res.raw ?? res) as ServerResponse;
    raw.statusCode = 200;
    raw.setHeader('content-type', 'text/plain');
    await pipeline(Readable.from(['line 1\n', 'line 2\n']), raw);
  }

  @Put(':id')
  @Audited('thing')
  replace(): never {
    throw new ConflictError('the thing changed meanwhile');
  }

  @Post('slow')
  @SetMetadata(PUBLIC, true)
  @Audited('thing', { action: 'thing.slow' })
  async slow(@Res({ passthrough: true }) res: PassthroughResponse): Promise<{ ok: true }> {
    // Returns only once the client is gone, so the answer can only ever be unheard.
    await clientGone(res, slowEntered);
    return { ok: true };
  }
}

let thingsRef: Things;

@Module({ providers: [{ provide: APP_GUARD, useClass: TokenGuard }] })
class AuthModule {}

describe.each(PLATFORMS)('refused attempts on %s', (platform) => {
  let running: RunningApp;
  let store: InMemoryAuditStore;
  let n = 0;

  beforeAll(async () => {
    store = new InMemoryAuditStore();
    running = await startApp(platform, {
      // The app's guard module comes first: the order must not matter.
      imports: [
        AuthModule,
        AuditModule.forRoot({
          store,
          stream: false,
          trustRequestId: true,
          alarms: {
            channels: {
              hook: {
                type: 'webhook',
                url: 'http://127.0.0.1:9/never',
                secret: 'a-secret-of-16+chars',
              },
            },
            rules: [
              { name: 'rename', action: 'thing.update', changed: ['name'], channels: ['hook'] },
              { name: 'phone', action: 'thing.update', changed: ['phone'], channels: ['hook'] },
            ],
            dispatch: false,
            allowPrivateNetworks: ['127.0.0.1'],
          },
        }),
      ],
      controllers: [ThingsController],
      providers: [Things, AdminGuard, { provide: APP_FILTER, useClass: ConflictFilter }],
    });
    thingsRef = running.app.get(Things);
  });
  afterAll(() => running.close());

  /** The events of one request id, and that request id. */
  async function eventsOf(requestId: string): Promise<AuditEvent[]> {
    const page = await store.query({ requestId, limit: 10 });
    return page.items;
  }

  function nextId(): string {
    n += 1;
    return `${platform}-refused-${n}`;
  }

  async function expectOneEvent(requestId: string, status: number): Promise<AuditEvent> {
    const events = await eventsOf(requestId);
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event.response?.statusCode).toBe(status);
    expect(event.outcome).toBe('failure');
    return event;
  }

  it('records a 401 from a global APP_GUARD with the attempted action and target', async () => {
    const id = nextId();
    await request(running.url)
      .patch('/things/1')
      .set('x-request-id', id)
      .send({ name: 'x' })
      .expect(401);
    const event = await expectOneEvent(id, 401);
    expect(event).toMatchObject({
      action: 'thing.update',
      target: { type: 'thing', id: '1' },
      actor: { type: 'anonymous', authenticated: false },
      error: { message: 'a user token is required' },
    });
    expect(event.changes).toBeUndefined();
  });

  it('records a 403 from a method guard with the actor the global guard authenticated', async () => {
    const id = nextId();
    await request(running.url)
      .delete('/things/1')
      .set('authorization', 'User bob')
      .set('x-request-id', id)
      .expect(403);
    const event = await expectOneEvent(id, 403);
    expect(event).toMatchObject({
      action: 'thing.delete',
      target: { id: '1' },
      actor: { id: 'bob', authenticated: true },
      error: { message: 'Forbidden resource' },
    });
  });

  it('records malformed JSON refused by the body parser (400)', async () => {
    const id = nextId();
    await request(running.url)
      .post('/things')
      .set('authorization', 'User bob')
      .set('content-type', 'application/json')
      .set('x-request-id', id)
      .send('{"name": ')
      .expect(400);
    const event = await expectOneEvent(id, 400);
    expect(event.action).toBe('thing.create');
  });

  it('records an oversized body refused by the body parser (413)', async () => {
    const id = nextId();
    const res = await request(running.url)
      .post('/things')
      .set('authorization', 'User bob')
      .set('content-type', 'application/json')
      .set('x-request-id', id)
      .send(JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }));
    expect(res.status).toBe(413);
    const event = await expectOneEvent(id, 413);
    expect(event.action).toBe('thing.create');
  });

  it('records a ValidationPipe refusal with the field messages in error.message', async () => {
    const id = nextId();
    await request(running.url)
      .post('/things')
      .set('authorization', 'User bob')
      .set('x-request-id', id)
      .send({ name: 'ab', owner: 'not-an-email' })
      .expect(400);
    const event = await expectOneEvent(id, 400);
    expect(event.error?.message).toContain('name must be longer than or equal to 3 characters');
    expect(event.error?.message).toContain('owner must be an email');
  });

  it('records the 422 an exception filter actually sent, not the 500 the error would give', async () => {
    const id = nextId();
    await request(running.url)
      .put('/things/1')
      .set('authorization', 'User bob')
      .set('x-request-id', id)
      .expect(422);
    const event = await expectOneEvent(id, 422);
    expect(event.error).toMatchObject({ message: 'the thing changed meanwhile' });
  });

  it('records a refused PATCH with an empty diff, and raises no changed alarm', async () => {
    const id = nextId();
    await request(running.url)
      .patch('/things/1')
      .set('authorization', 'User bob')
      .set('x-request-id', id)
      .send({ name: 'forbidden' })
      .expect(403);
    const event = await expectOneEvent(id, 403);
    expect(event.changes?.diff).toEqual([]);
    expect(event.changes?.fields).toEqual([]);
    const alarms = await running.app.get(AuditService).listAlarms({});
    expect(alarms.filter((a) => a.eventId === event.id)).toHaveLength(0);
  });

  it('records a failed change whose after-state cannot be loaded with no diff, and says so', async () => {
    const id = nextId();
    await request(running.url)
      .patch('/things/1/fragile')
      .set('authorization', 'User bob')
      .set('x-request-id', id)
      .send({ name: 'never' })
      .expect(409);
    const event = await expectOneEvent(id, 409);
    expect(event.changes?.before).toMatchObject({ id: '1' });
    expect(event.changes?.after).toBeUndefined();
    expect(event.changes?.diff).toEqual([]);
    expect(event.changes?.unavailable).toMatch(/after-state could not be loaded/);
    const alarms = await running.app.get(AuditService).listAlarms({});
    expect(alarms.filter((a) => a.eventId === event.id)).toHaveLength(0);
  });

  it('still records a real rename, with its diff and its changed alarm', async () => {
    const id = nextId();
    await request(running.url)
      .patch('/things/1')
      .set('authorization', 'User bob')
      .set('x-request-id', id)
      .send({ name: `renamed-${id}` })
      .expect(200);
    const [event] = await eventsOf(id);
    expect(event).toMatchObject({ outcome: 'success', changes: { fields: ['name'] } });
    const alarms = await running.app.get(AuditService).listAlarms({});
    expect(alarms.filter((a) => a.eventId === event!.id)).toHaveLength(1);
  });

  it('raises the alarm of a watched field hidden among 6,000 others, and lists every field', async () => {
    const id = nextId();
    const body: Record<string, unknown> = {};
    // Junk keys that sort before the watched one, with values big enough to cut the event.
    for (let i = 0; i < 6000; i += 1) body[`a${String(i).padStart(4, '0')}`] = i;
    body.phone = `+1 555 ${n}`;
    await request(running.url)
      .patch('/things/1/fields')
      .set('authorization', 'User bob')
      .set('x-request-id', id)
      .send(body)
      .expect(200);
    const [event] = await eventsOf(id);
    // The diff was cut to fit the event: the field list and the alarm must not be.
    expect(event?.changes?.diffTruncated).toBe(true);
    expect(event?.changes?.count).toBe(6001);
    expect(event?.changes?.fields).toContain('phone');
    const alarms = await running.app.get(AuditService).listAlarms({});
    expect(alarms.filter((a) => a.eventId === event!.id).map((a) => a.rule)).toEqual(['phone']);
  });

  it('does not wait for a handler that awaits its own response, and says what it could not load', async () => {
    const id = nextId();
    const res = await request(running.url)
      .post('/things/1/download')
      .set('authorization', 'User bob')
      .set('x-request-id', id)
      .expect(200);
    expect(res.text).toBe('line 1\nline 2\n');
    const [event] = await eventsOf(id);
    expect(event).toMatchObject({ action: 'thing.export', outcome: 'success' });
    expect(event?.changes?.diff).toEqual([]);
    expect(event?.changes?.unavailable).toMatch(/response began before the handler returned/);
  });

  it('records a client that went away before the answer as unknown, once', async () => {
    const id = nextId();
    const entered = new Promise<void>((resolve) => (slowEntered = resolve));
    const { port, hostname } = new URL(running.url);
    const req = httpRequest({
      host: hostname,
      port,
      method: 'POST',
      path: '/things/slow',
      headers: { 'x-request-id': id, 'content-type': 'application/json' },
    });
    req.on('error', () => undefined);
    req.end('{}');
    await entered;
    req.destroy();
    await eventually(
      async () => (await eventsOf(id)).length > 0,
      'the aborted request to be recorded',
    );
    const events = await eventsOf(id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'thing.slow', outcome: 'unknown' });
    expect(events[0]!.response).toBeUndefined();
  });
});

/** A middleware that refuses with 401 when `x-block` is sent (raw Node response: both platforms). */
@Injectable()
class BlockMiddleware implements NestMiddleware {
  use(req: { headers: Record<string, string> }, res: ServerResponse, next: () => void): void {
    if (!req.headers['x-block']) return next();
    res.statusCode = 401;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ message: 'blocked by the edge', error: 'Unauthorized' }));
  }
}

@Controller('open')
class OpenController {
  @Post(':id')
  @SetMetadata(PUBLIC, true)
  touch(@Param('id') id: string): { id: string } {
    return { id };
  }
}

describe.each(PLATFORMS)('middleware refusals on %s', (platform) => {
  const stores = { mutations: new InMemoryAuditStore(), all: new InMemoryAuditStore() };
  const apps: RunningApp[] = [];

  function moduleWith(store: InMemoryAuditStore, scope: 'mutations' | 'all') {
    @Module({
      imports: [AuditModule.forRoot({ store, stream: false, trustRequestId: true, scope })],
      controllers: [OpenController],
    })
    class MiddlewareApp implements NestModule {
      configure(consumer: MiddlewareConsumer): void {
        consumer.apply(BlockMiddleware).forRoutes('*path');
      }
    }
    return MiddlewareApp;
  }

  beforeAll(async () => {
    apps.push(await startApp(platform, { imports: [moduleWith(stores.mutations, 'mutations')] }));
    apps.push(await startApp(platform, { imports: [moduleWith(stores.all, 'all')] }));
  });
  afterAll(() => Promise.all(apps.map((a) => a.close())));

  it('records a 401 a middleware sent on an audited route, once, with the route it was for', async () => {
    await request(apps[0]!.url)
      .post('/open/7')
      .set('x-block', '1')
      .set('x-request-id', `${platform}-mw-1`)
      .expect(401);
    await request(apps[0]!.url).post('/open/8').set('x-request-id', `${platform}-mw-2`).expect(201);
    const refused = (await stores.mutations.query({ requestId: `${platform}-mw-1`, limit: 10 }))
      .items;
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      action: 'open.create',
      outcome: 'failure',
      response: { statusCode: 401 },
      error: { message: expect.any(String) },
    });
    const passed = (await stores.mutations.query({ requestId: `${platform}-mw-2`, limit: 10 }))
      .items;
    expect(passed).toHaveLength(1);
    expect(passed[0]).toMatchObject({ outcome: 'success', target: { id: '8' } });
  });

  it("records a refusal before routing (an unknown path) under scope 'all' only", async () => {
    await request(apps[0]!.url)
      .get('/nowhere')
      .set('x-block', '1')
      .set('x-request-id', `${platform}-mw-3`)
      .expect(401);
    await request(apps[1]!.url)
      .get('/nowhere')
      .set('x-block', '1')
      .set('x-request-id', `${platform}-mw-4`)
      .expect(401);
    expect(
      (await stores.mutations.query({ requestId: `${platform}-mw-3`, limit: 10 })).items,
    ).toHaveLength(0);
    const all = (await stores.all.query({ requestId: `${platform}-mw-4`, limit: 10 })).items;
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({
      action: 'http.read',
      outcome: 'failure',
      response: { statusCode: 401 },
    });
  });
});

@Injectable()
class MissingLoader {
  load(): undefined {
    return undefined;
  }
}

@Controller('boxes')
class BoxesController {
  @Patch(':id')
  @Audited('box', { load: MissingLoader })
  update(): void {}
}

describe('a loader that is not a provider', () => {
  it.each(PLATFORMS)(
    'stops the boot on %s, naming the controller, the handler and the fix',
    async (platform) => {
      const booting = startApp(platform, {
        imports: [
          AuditModule.forRoot({
            store: new InMemoryAuditStore(),
            stream: false,
            trustRequestId: true,
          }),
        ],
        controllers: [BoxesController],
      });
      await expect(booting).rejects.toThrow(
        /MissingLoader of @Audited\('box'\) on BoxesController\.update\(\) is not a provider\. Add MissingLoader to the "providers"/,
      );
    },
  );
});
