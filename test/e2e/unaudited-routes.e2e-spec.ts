import { Body, Controller, Get, Injectable, Param, Post, Res, Scope } from '@nestjs/common';
import { ApplicationConfig } from '@nestjs/core';
import { request as httpRequest } from 'node:http';
import request from 'supertest';
import { AuditModule, AuditService, InMemoryAuditStore } from '../../src';
import { AuditContextStorage } from '../../src/capture/audit-context';
import {
  clientGone,
  PLATFORMS,
  startApp,
  type PassthroughResponse,
  type Platform,
  type RunningApp,
} from '../utils/apps';
import { until } from '../utils/until';

const INTERCEPTORS_METADATA = '__interceptors__';

/** What a handler saw of its audit context, after an await. */
interface Seen {
  id: string;
  requestId: string | undefined;
}

/** Called when the handler of `POST /items/slow` runs. */
let slowEntered: () => void = () => undefined;

@Controller('items')
class ItemsController {
  constructor(private readonly audit: AuditService) {}

  @Post('slow')
  async slow(@Res({ passthrough: true }) res: PassthroughResponse): Promise<{ id: string }> {
    // Returns only once its client is gone: its answer is never heard.
    await clientGone(res, slowEntered);
    return { id: 'i-2' };
  }

  @Post()
  async create(@Body() body: { name?: string }): Promise<Seen & { name: string }> {
    await new Promise((resolve) => setImmediate(resolve));
    return { id: 'i-1', name: body.name ?? 'widget', requestId: this.audit.current()?.requestId };
  }

  @Get(':id')
  read(@Param('id') id: string): { id: string } {
    return { id };
  }
}

/** Served by the audited app and by a second app without the module. */
@Controller('shared')
class SharedController {
  @Post()
  create(): { id: string } {
    return { id: 'shared' };
  }
}

@Injectable({ scope: Scope.REQUEST })
class PerRequest {
  readonly made = 'per-request';
}

@Controller({ path: 'notes', scope: Scope.REQUEST })
class NotesController {
  constructor(
    private readonly audit: AuditService,
    private readonly perRequest: PerRequest,
  ) {}

  @Post()
  async create(): Promise<Seen> {
    await Promise.resolve();
    return { id: this.perRequest.made, requestId: this.audit.current()?.requestId };
  }
}

function interceptorsOf(method: object): unknown[] {
  return (Reflect.getMetadata(INTERCEPTORS_METADATA, method) ?? []) as unknown[];
}

/** Whether the module's AsyncLocalStorage is on (its hooks run for every promise then). */
function contextHooksOn(app: RunningApp): boolean {
  const storage: unknown = app.app.get(AuditContextStorage);
  return (storage as { storage: { enabled: boolean } }).storage.enabled;
}

describe.each(PLATFORMS)('routes that are not audited, on %s', (platform: Platform) => {
  let store: InMemoryAuditStore;
  let audited: RunningApp;

  beforeAll(async () => {
    store = new InMemoryAuditStore();
    audited = await startApp(platform, {
      imports: [AuditModule.forRoot({ store, stream: false })],
      controllers: [ItemsController, NotesController, SharedController],
      providers: [PerRequest],
    });
  });
  afterAll(() => audited.close());
  beforeEach(() => store.clear());

  it('registers no global interceptor, and binds one to the audited routes only', () => {
    expect(audited.app.get(ApplicationConfig).getGlobalInterceptors()).toEqual([]);
    const proto = ItemsController.prototype;
    expect(interceptorsOf(proto.create)).toHaveLength(1);
    expect(interceptorsOf(proto.read)).toEqual([]);
  });

  it('keeps the context across awaits in an audited handler, then turns its hooks off', async () => {
    expect(contextHooksOn(audited)).toBe(false);
    const res = await request(audited.url).post('/items').send({ name: 'a' }).expect(201);
    const [event] = store.all();
    expect(store.all()).toHaveLength(1);
    expect(res.body.requestId).toBe(event!.request?.id);
    expect(event!.target).toEqual({ type: 'item', id: 'i-1' });
    // Recorded: no audited request is in flight, so the process-wide hooks are off again.
    expect(contextHooksOn(audited)).toBe(false);
    await request(audited.url).get('/items/7').expect(200);
    expect(store.all()).toHaveLength(1);
    expect(contextHooksOn(audited)).toBe(false);
  });

  it('turns its hooks off once the handler of a request whose client went away is done', async () => {
    const entered = new Promise<void>((resolve) => (slowEntered = resolve));
    const { hostname, port } = new URL(audited.url);
    const req = httpRequest({ host: hostname, port, method: 'POST', path: '/items/slow' });
    req.on('error', () => undefined);
    req.end();
    await entered;
    // In flight: the hooks are on for its handler.
    expect(contextHooksOn(audited)).toBe(true);
    req.destroy();
    await until(() => store.all().length === 1);
    expect(store.all()[0]).toMatchObject({ action: 'item.create', outcome: 'unknown' });
    await until(() => !contextHooksOn(audited));
    expect(store.all()).toHaveLength(1);
  });

  it('records a request-scoped controller (its interceptors are resolved per request)', async () => {
    const res = await request(audited.url).post('/notes').expect(201);
    expect(res.body.id).toBe('per-request');
    const events = store.all();
    expect(events).toHaveLength(1);
    expect(events[0]!.action).toBe('note.create');
    expect(res.body.requestId).toBe(events[0]!.request?.id);
  });

  it('leaves another app that shares a controller class alone, and keeps recording its own', async () => {
    // SharedController's create() carries the bound interceptor now: a second app that serves
    // the same class without the module runs it as a pass-through.
    expect(interceptorsOf(SharedController.prototype.create)).toHaveLength(1);
    const other = await startApp(platform, { controllers: [SharedController] });
    try {
      await request(other.url).post('/shared').expect(201, { id: 'shared' });
      expect(store.all()).toHaveLength(0);
      await request(audited.url).post('/shared').expect(201, { id: 'shared' });
      expect(store.all().map((e) => e.action)).toEqual(['shared.create']);
    } finally {
      await other.close();
    }
  });
});
