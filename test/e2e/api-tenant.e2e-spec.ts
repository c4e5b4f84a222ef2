import request from 'supertest';
import { join } from 'node:path';
import { AuditStore, type AuditEvent } from '../../src';
import { makeEvent } from '../fixtures/events';
import { PLATFORMS, tempDir, type RunningApp } from '../utils/apps';
import { auditApiApp, startApiApp } from '../utils/api-app';

/** Both tenants touch the same record, so each path has B's events to leak. */
function plant(tenant: string): AuditEvent[] {
  return Array.from({ length: 3 }, (_, i) =>
    makeEvent({
      timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      action: 'doc.update',
      target: { type: 'doc', id: 'shared' },
      tenant,
      changes: {
        before: { title: `${tenant}-old-${i}` },
        after: { title: `${tenant}-new-${i}` },
        diff: [
          {
            path: ['title'],
            op: 'changed',
            before: `${tenant}-old-${i}`,
            after: `${tenant}-new-${i}`,
          },
        ],
        fields: ['title'],
      },
    }),
  );
}

describe.each(PLATFORMS)('audit API and viewer scoped by api.tenant, on %s', (platform) => {
  let running: RunningApp;
  let tmp: ReturnType<typeof tempDir>;
  let eventsOfA: AuditEvent[];
  let eventsOfB: AuditEvent[];

  /** A reader of tenant `a` (the x-tenant header plays the signed-in user's tenant). */
  const asA = (path: string) => request(running.url).get(path).set('x-tenant', 'a');
  /** Every trace of tenant B in a response body: its event ids and its values. */
  const leaksOfB = (body: string): string[] => [
    ...eventsOfB.map((e) => e.id).filter((id) => body.includes(id)),
    ...(body.includes('b-old-') || body.includes('b-new-') ? ['a value of tenant b'] : []),
  ];

  beforeAll(async () => {
    tmp = tempDir();
    running = await startApiApp(
      platform,
      auditApiApp(
        { store: join(tmp.dir, 'audit.db'), stream: false, serviceName: 'tenant-test' },
        {
          public: true,
          tenant: (req) => {
            const value = (req as { headers: Record<string, unknown> }).headers['x-tenant'];
            return typeof value === 'string' ? value : undefined;
          },
        },
      ),
    );
    eventsOfA = plant('a');
    eventsOfB = plant('b');
    await running.app.get(AuditStore).append([...eventsOfA, ...eventsOfB]);
  });
  afterAll(async () => {
    await running.close();
    tmp.cleanup();
  });

  it.each([
    ['the event list', '/audit/events?resource=doc:shared'],
    ['the event list asking for tenant b', '/audit/events?tenant=b'],
    ['a history', '/audit/history/doc/shared'],
    ['the CSV export', '/audit/export.csv?resource=doc:shared'],
    ['the NDJSON export', '/audit/export.ndjson?tenant=b'],
    ['the viewer list', '/audit?resource=doc%3Ashared'],
    ['the viewer timeline', '/audit/view/history/doc/shared'],
  ])("answers a tenant-A reader none of tenant B's events through %s", async (_, path) => {
    const res = await asA(path).expect(200);
    expect(leaksOfB(res.text)).toEqual([]);
    // ...and the reader's own events are there (except where the filter asked for tenant b).
    if (!path.includes('tenant=b')) {
      expect(eventsOfA.filter((e) => res.text.includes(e.id))).toHaveLength(eventsOfA.length);
    }
  });

  it("answers 404 for an event of tenant B by id, API and viewer, and serves A's own", async () => {
    const other = eventsOfB[0]!.id;
    const api = await asA(`/audit/events/${other}`).expect(404);
    expect(leaksOfB(api.text)).toEqual([other]); // only the id the reader asked with
    const page = await asA(`/audit/view/events/${other}`).expect(404);
    expect(page.text).not.toContain('b-new-');
    await asA(`/audit/events/${eventsOfA[0]!.id}`).expect(200);
  });

  it('refuses a reader for whom api.tenant resolves no tenant, API and viewer', async () => {
    const res = await request(running.url).get('/audit/events').expect(403);
    expect(res.body.message).toMatch(/no tenant was resolved for this reader/);
    await request(running.url).get('/audit/history/doc/shared').expect(403);
    await request(running.url).get('/audit/events/x').expect(403);
    await request(running.url).get('/audit').expect(403);
    await request(running.url).get('/audit/view/history/doc/shared').expect(403);
  });

  it("records each read under the reader's tenant, and a refused viewer page once, as a failure", async () => {
    const store = running.app.get(AuditStore);
    const reads = async (outcome: 'success' | 'failure', via: 'api' | 'viewer') =>
      (await store.query({ action: 'audit.read', outcome, limit: 1000 })).items.filter(
        (e) => e.labels?.via === via,
      );
    const before = { api: (await reads('success', 'api')).length };
    await asA('/audit/events?resource=doc:shared').expect(200);
    await asA('/audit/view/history/doc/shared').expect(200);
    const refusedBefore = (await reads('failure', 'viewer')).length;
    await request(running.url).get('/audit/view/history/doc/shared').expect(403);

    const api = await reads('success', 'api');
    expect(api).toHaveLength(before.api + 1);
    expect(api[0]?.tenant).toBe('a');
    const viewer = await reads('success', 'viewer');
    expect(viewer.find((e) => e.labels?.page === 'history')?.tenant).toBe('a');
    const refused = await reads('failure', 'viewer');
    expect(refused).toHaveLength(refusedBefore + 1);
    expect(refused[0]?.response?.statusCode).toBe(403);
    expect(refused[0]?.tenant).toBeUndefined();
  });
});
