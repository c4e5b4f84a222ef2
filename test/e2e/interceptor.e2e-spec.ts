import request from 'supertest';
import { AuditModule, InMemoryAuditStore, type AuditEvent, type AuditModuleOptions } from '../../src';
import { LineCollector, PLATFORMS, startApp, type Platform, type RunningApp } from '../utils/apps';
import { asUser, fixtureApp } from '../utils/users-app';

async function boot(platform: Platform, options: AuditModuleOptions = {}) {
  const store = new InMemoryAuditStore();
  const lines = new LineCollector();
  const running = await startApp(platform, {
    imports: [AuditModule.forRoot({ store, stream: lines, serviceName: 'fixture', ...options })],
    ...fixtureApp,
  });
  return { ...running, store, lines };
}

function only(store: InMemoryAuditStore): AuditEvent {
  const all = store.all();
  expect(all).toHaveLength(1);
  return all[0]!;
}

const alice = { id: 'u-alice', email: 'alice@example.com', name: 'Alice', roles: ['admin'] };

describe.each(PLATFORMS)('AuditInterceptor on %s', (platform) => {
  describe("scope 'mutations' (default)", () => {
    let ctx: Awaited<ReturnType<typeof boot>>;
    beforeAll(async () => {
      ctx = await boot(platform, { exclude: ['/health', '/health/*'] });
    });
    afterAll(() => ctx.close());
    beforeEach(() => ctx.store.clear());

    it('records a creation with after-state from the loader, the actor, source and request', async () => {
      const res = await request(ctx.url)
        .post('/users?ref=newsletter')
        .set(asUser(alice))
        .set('user-agent', 'e2e-agent/1.0')
        .send({ name: 'Bob', email: 'bob@example.com', phone: '+15550001' })
        .expect(201);
      const event = only(ctx.store);
      expect(event.action).toBe('user.create');
      expect(event.outcome).toBe('success');
      expect(event.category).toEqual(['iam']);
      expect(event.type).toEqual(expect.arrayContaining(['creation']));
      expect(event.actor).toMatchObject({ id: 'u-alice', email: 'alice@example.com', name: 'Alice', roles: ['admin'], type: 'user', authenticated: true });
      expect(event.source).toEqual({ ip: '127.0.0.1', userAgent: 'e2e-agent/1.0' });
      expect(event.target).toEqual({ type: 'user', id: res.body.id });
      expect(event.request).toMatchObject({ method: 'POST', path: '/users', route: '/users' });
      expect(event.response).toEqual({ statusCode: 201 });
      expect(event.changes?.before).toBeUndefined();
      expect(event.changes?.after).toMatchObject({ name: 'Bob', email: 'bob@example.com' });
      expect(event.changes?.fields).toEqual(expect.arrayContaining(['name', 'email', 'phone', 'id']));
      expect(event.body).toEqual({ name: 'Bob', email: 'bob@example.com', phone: '+15550001' });
      expect(typeof event.durationMs).toBe('number');
      expect(event.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(res.headers['x-request-id']).toBe(event.request?.id);
    });

    it('records an update as a diff of the changed fields only, with before and after', async () => {
      const created = await request(ctx.url).post('/users').send({ name: 'Carol', email: 'c@example.com', mfa: { enabled: false } });
      ctx.store.clear();
      await request(ctx.url).patch(`/users/${created.body.id}/mfa`).set(asUser(alice)).send({ phone: '+4470000' }).expect(200);
      const event = only(ctx.store);
      expect(event.action).toBe('user.update');
      expect(event.message).toBe('Edit made to MFA information');
      expect(event.level).toBe('warn');
      expect(event.target).toEqual({ type: 'user', id: created.body.id });
      expect(event.request?.route).toBe('/users/:id/mfa');
      expect(event.changes?.before).toMatchObject({ mfa: { enabled: false } });
      expect(event.changes?.after).toMatchObject({ mfa: { enabled: true, phone: '+4470000' } });
      expect(event.changes?.diff).toEqual([
        { path: ['mfa', 'enabled'], op: 'changed', before: false, after: true },
        { path: ['mfa', 'phone'], op: 'added', after: '+4470000' },
      ]);
      expect(event.changes?.fields).toEqual(['mfa.enabled', 'mfa.phone']);
    });

    it('records a deletion with before-state and no after-state', async () => {
      const created = await request(ctx.url).post('/users').send({ name: 'Dan', email: 'd@example.com' });
      ctx.store.clear();
      await request(ctx.url).delete(`/users/${created.body.id}`).expect(200);
      const event = only(ctx.store);
      expect(event.action).toBe('user.delete');
      expect(event.type).toEqual(expect.arrayContaining(['deletion']));
      expect(event.changes?.before).toMatchObject({ name: 'Dan' });
      expect(event.changes?.after).toBeUndefined();
      expect(event.changes?.diff.every((d) => d.op === 'removed')).toBe(true);
      expect(event.actor).toEqual({ type: 'anonymous', authenticated: false });
    });

    it('uses a function loader, captureResult and per-route redaction', async () => {
      const created = await request(ctx.url).post('/users').send({ name: 'Eve', email: 'e@example.com', phone: '111' });
      ctx.store.clear();
      await request(ctx.url).put(`/users/${created.body.id}`).send({ phone: 'ph0ne-canary-new', name: 'Eve B' }).expect(200);
      const event = only(ctx.store);
      expect(event.changes?.fields).toEqual(['name', 'phone']);
      const phone = event.changes?.diff.find((d) => d.path[0] === 'phone');
      expect(phone).toEqual({ path: ['phone'], op: 'changed', before: '[REDACTED]', after: '[REDACTED]' });
      expect(event.response?.body).toMatchObject({ name: 'Eve B', phone: '[REDACTED]' });
      expect(JSON.stringify(event)).not.toContain('ph0ne-canary-new');
    });

    it('does not audit reads, but audits an @Audited read with filter and results', async () => {
      const created = await request(ctx.url).post('/users').send({ name: 'Fay', email: 'f@example.com' });
      ctx.store.clear();
      await request(ctx.url).get(`/users/${created.body.id}`).expect(200);
      expect(ctx.store.all()).toHaveLength(0);
      await request(ctx.url).get(`/users/${created.body.id}/profile?fields=email`).expect(200);
      const event = only(ctx.store);
      expect(event.action).toBe('user.read');
      expect(event.type).toEqual(expect.arrayContaining(['info']));
      expect(event.filter).toEqual({ fields: 'email' });
      expect(event.results).toEqual({ ids: [created.body.id] });
      expect(event.message).toBe('Sensitive profile viewed');
    });

    it('records failures with the status actually sent: HttpException status, anything else 500', async () => {
      await request(ctx.url).patch('/users/nope/mfa').send({ phone: '1' }).expect(404);
      const notFound = only(ctx.store);
      expect(notFound.outcome).toBe('failure');
      expect(notFound.response?.statusCode).toBe(404);
      expect(notFound.error).toEqual({ type: 'NotFoundException', message: 'user nope not found' });
      expect(notFound.level).toBe('warn');
      ctx.store.clear();
      await request(ctx.url).post('/users/boom').expect(500);
      const boom = only(ctx.store);
      expect(boom.outcome).toBe('failure');
      expect(boom.response?.statusCode).toBe(500);
      expect(boom.error).toEqual({ type: 'Error', message: 'kaboom' });
      expect(boom.action).toBe('user.create');
      ctx.store.clear();
      await request(ctx.url).post('/users/accepted').expect(202);
      expect(only(ctx.store)).toMatchObject({ outcome: 'success', response: { statusCode: 202 } });
    });

    it('honours skip() from the handler, @AuditExempt and exclude', async () => {
      await request(ctx.url).post('/users/skip').expect(201);
      await request(ctx.url).post('/users/exempt').expect(201);
      await request(ctx.url).post('/health/ping').expect(201);
      await request(ctx.url).get('/health').expect(200);
      expect(ctx.store.all()).toHaveLength(0);
    });

    it('applies method-beats-class and exempt-beats-audited precedence', async () => {
      await request(ctx.url).post('/orders').send({ item: 'pen' }).expect(201);
      expect(only(ctx.store)).toMatchObject({ action: 'order.create', target: { type: 'order', id: 'o-1' } });
      ctx.store.clear();
      await request(ctx.url).get('/orders/o-7').expect(200);
      expect(only(ctx.store)).toMatchObject({ action: 'order.read', target: { type: 'order', id: 'o-7' } });
      ctx.store.clear();
      await request(ctx.url).post('/orders/o-7/notes').expect(201);
      expect(ctx.store.all()).toHaveLength(0);
      await request(ctx.url).post('/orders/o-7/invoice').expect(201);
      expect(only(ctx.store)).toMatchObject({ action: 'invoice.issue', target: { type: 'invoice', id: 'inv-9' } });
      ctx.store.clear();
      await request(ctx.url).post('/admin/cache/flush').expect(201);
      expect(ctx.store.all()).toHaveLength(0);
      await request(ctx.url).put('/admin/settings/theme').expect(200);
      expect(only(ctx.store)).toMatchObject({ action: 'setting.update', target: { type: 'setting', id: 'theme' } });
    });

    it('adds labels from the context and uses an id function and a custom verb', async () => {
      await request(ctx.url).post('/users/42/labels').expect(201);
      expect(only(ctx.store)).toMatchObject({
        action: 'user.tag',
        target: { type: 'user', id: '42' },
        labels: { campaign: 'spring', attempt: '2' },
      });
    });

    it('makes its own request id (the incoming one is not trusted by default) and ignores X-Forwarded-For', async () => {
      const res = await request(ctx.url).post('/users/accepted').set('x-request-id', 'req-abc.123').set('x-forwarded-for', '203.0.113.9');
      expect(res.headers['x-request-id']).not.toBe('req-abc.123');
      expect(only(ctx.store)).toMatchObject({ request: { id: res.headers['x-request-id'] }, source: { ip: '127.0.0.1' } });
      ctx.store.clear();
      const hostile = await request(ctx.url).post('/users/accepted').set('x-request-id', 'a b"<script>');
      const event = only(ctx.store);
      expect(event.request?.id).not.toContain('script');
      expect(hostile.headers['x-request-id']).toBe(event.request?.id);
    });

    it('records the W3C trace id', async () => {
      await request(ctx.url).post('/users/accepted').set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
      expect(only(ctx.store).request?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    });
  });

  describe("scope 'all' with trustProxy, tenant and actor extractors", () => {
    let ctx: Awaited<ReturnType<typeof boot>>;
    beforeAll(async () => {
      ctx = await boot(platform, {
        scope: 'all',
        trustProxy: true,
        exclude: [/^\/health$/],
        tenant: (req) => req.headers['x-tenant'] as string | undefined,
        actor: (req) => (req.headers['x-actor'] ? { id: req.headers['x-actor'] as string, provider: 'header' } : undefined),
      });
    });
    afterAll(() => ctx.close());
    beforeEach(() => ctx.store.clear());

    it('audits reads too, with the tenant, the custom actor and the forwarded client address', async () => {
      await request(ctx.url)
        .get('/search?q=anything')
        .set('x-tenant', 'acme')
        .set('x-actor', 'svc-7')
        .set('x-forwarded-for', '203.0.113.9, 10.0.0.1')
        .expect(200);
      const event = only(ctx.store);
      expect(event.action).toBe('health.read');
      expect(event.tenant).toBe('acme');
      expect(event.actor).toMatchObject({ id: 'svc-7', provider: 'header', type: 'user' });
      expect(event.source?.ip).toBe('203.0.113.9');
      expect(event.request?.path).toBe('/search');
      await request(ctx.url).get('/health').expect(200);
      expect(ctx.store.all()).toHaveLength(1);
    });
  });

  describe("scope 'decorated'", () => {
    let ctx: Awaited<ReturnType<typeof boot>>;
    beforeAll(async () => {
      ctx = await boot(platform, { scope: 'decorated' });
    });
    afterAll(() => ctx.close());

    it('audits only @Audited routes', async () => {
      await request(ctx.url).post('/users/accepted').expect(202);
      await request(ctx.url).post('/health/ping').expect(201);
      expect(ctx.store.all()).toHaveLength(0);
      await request(ctx.url).post('/orders').send({ item: 'x' }).expect(201);
      expect(only(ctx.store).action).toBe('order.create');
    });
  });
});

describe('the unaudited fast path', () => {
  let running: RunningApp;
  let store: InMemoryAuditStore;
  beforeAll(async () => {
    store = new InMemoryAuditStore();
    running = await startApp('express', {
      imports: [AuditModule.forRoot({ store, stream: false })],
      ...fixtureApp,
    });
  });
  afterAll(() => running.close());

  it('leaves unaudited responses untouched (no request-id header, no record)', async () => {
    const res = await request(running.url).get('/health').expect(200);
    expect(res.headers['x-request-id']).toBeUndefined();
    expect(res.body).toEqual({ ok: true });
    expect(store.all()).toHaveLength(0);
  });
});
