import request from 'supertest';
import {
  AuditModule,
  InMemoryAuditStore,
  type AuditEvent,
  type AuditModuleOptions,
} from '../../src';
import { PLATFORMS, startApp, type Platform, type PlatformSettings } from '../utils/apps';
import { ADMIN_HEADERS, AdminHeaderGuard } from '../utils/api-app';
import { fixtureApp } from '../utils/users-app';

// Issue 16 items 1 and 8: the client address and the request id come from what the app's edge
// vouches for, never from what any client can write into a header.

async function boot(
  platform: Platform,
  options: AuditModuleOptions,
  settings: PlatformSettings = {},
) {
  const store = new InMemoryAuditStore();
  const running = await startApp(
    platform,
    {
      ...fixtureApp,
      imports: [
        AuditModule.forRoot({
          store,
          stream: false,
          serviceName: 'identity',
          api: { guard: AdminHeaderGuard },
          ...options,
        }),
      ],
    },
    settings,
  );
  return { ...running, store };
}

function only(store: InMemoryAuditStore, action?: string): AuditEvent {
  const all = store.all().filter((e) => action === undefined || e.action === action);
  expect(all).toHaveLength(1);
  return all[0]!;
}

const FORGED_CHAIN = '6.6.6.6, 203.0.113.9';
const GARBAGE = 'trusted-vpn-gateway (alice laptop)';

describe.each(PLATFORMS)('client address and request id on %s', (platform) => {
  // Fastify 5 ignores a hop count (it cannot vouch for the socket peer): an address list works on both.
  describe('behind a loopback proxy set on the platform (library option unset)', () => {
    let ctx: Awaited<ReturnType<typeof boot>>;
    beforeAll(async () => {
      ctx = await boot(platform, {}, { trustProxy: 'loopback' });
    });
    afterAll(() => ctx.close());
    beforeEach(() => ctx.store.clear());

    it('records the address the proxy appended, not the leftmost one the client forged', async () => {
      await request(ctx.url)
        .post('/users/accepted')
        .set('x-forwarded-for', FORGED_CHAIN)
        .expect(202);
      expect(only(ctx.store).source?.ip).toBe('203.0.113.9');
    });

    it('never stores a forwarded value that is not an IP address as source.ip', async () => {
      await request(ctx.url).post('/users/accepted').set('x-forwarded-for', GARBAGE).expect(202);
      const event = only(ctx.store);
      expect(event.source?.ip).toBeUndefined();
      expect(JSON.stringify(event)).not.toContain('alice laptop');
    });

    it('gives the API read records the same address', async () => {
      await request(ctx.url)
        .get('/audit/events')
        .set(ADMIN_HEADERS)
        .set('x-forwarded-for', FORGED_CHAIN)
        .expect(200);
      expect(only(ctx.store, 'audit.read').source?.ip).toBe('203.0.113.9');
    });

    it('generates the request id by default, whatever id the client sends', async () => {
      const res = await request(ctx.url)
        .post('/users/accepted')
        .set('x-request-id', 'victim-request-1')
        .expect(202);
      const event = only(ctx.store);
      expect(event.request?.id).not.toBe('victim-request-1');
      expect(event.request?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
      expect(res.headers['x-request-id']).toBe(event.request?.id);
    });
  });

  describe('with the library option and no platform setting', () => {
    let hop: Awaited<ReturnType<typeof boot>>;
    let cidr: Awaited<ReturnType<typeof boot>>;
    beforeAll(async () => {
      hop = await boot(platform, { trustProxy: 1, trustRequestId: true });
      cidr = await boot(platform, { trustProxy: ['10.0.0.0/8'] });
    });
    afterAll(async () => {
      await hop.close();
      await cidr.close();
    });
    beforeEach(() => {
      hop.store.clear();
      cidr.store.clear();
    });

    it('walks X-Forwarded-For by hop count, on requests and on API reads', async () => {
      await request(hop.url)
        .post('/users/accepted')
        .set('x-forwarded-for', FORGED_CHAIN)
        .expect(202);
      expect(only(hop.store).source?.ip).toBe('203.0.113.9');
      hop.store.clear();
      await request(hop.url)
        .get('/audit/events')
        .set(ADMIN_HEADERS)
        .set('x-forwarded-for', FORGED_CHAIN)
        .expect(200);
      expect(only(hop.store, 'audit.read').source?.ip).toBe('203.0.113.9');
      hop.store.clear();
      await request(hop.url).post('/users/accepted').set('x-forwarded-for', GARBAGE).expect(202);
      expect(only(hop.store).source?.ip).toBeUndefined();
    });

    it('records the socket peer when it is not a trusted proxy', async () => {
      await request(cidr.url)
        .post('/users/accepted')
        .set('x-forwarded-for', FORGED_CHAIN)
        .expect(202);
      expect(only(cidr.store).source?.ip).toBe('127.0.0.1');
    });

    it('reuses a sane incoming request id only when told the edge sets it', async () => {
      const res = await request(hop.url)
        .post('/users/accepted')
        .set('x-request-id', 'edge-req.42')
        .expect(202);
      expect(res.headers['x-request-id']).toBe('edge-req.42');
      expect(only(hop.store).request?.id).toBe('edge-req.42');
      hop.store.clear();
      const hostile = await request(hop.url)
        .post('/users/accepted')
        .set('x-request-id', 'a b"<script>')
        .expect(202);
      const event = only(hop.store);
      expect(event.request?.id).not.toContain('script');
      expect(hostile.headers['x-request-id']).toBe(event.request?.id);
    });
  });
});
