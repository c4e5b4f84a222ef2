import Database from 'better-sqlite3';
import request from 'supertest';
import { join } from 'node:path';
import { AuditService, type AuditEvent } from '../../src';
import { PLATFORMS, tempDir, type RunningApp } from '../utils/apps';
import {
  ADMIN_HEADERS,
  AdminHeaderGuard,
  AUDITOR,
  auditApiApp,
  startApiApp,
  withMetadata,
} from '../utils/api-app';
import { NoteOrdersController } from '../utils/note-orders';

/** The page with its whitespace runs collapsed, as a reader sees the text. */
const flat = (html: string): string => html.replace(/\s+/g, ' ');

describe.each(PLATFORMS)('the chain on the audit API and the viewer, on %s', (platform) => {
  let running: RunningApp;
  let tmp: ReturnType<typeof tempDir>;
  let path: string;
  let audit: AuditService;
  let orders: AuditEvent[];
  let calls = 0;

  /** A GET as the admitted auditor, with a request id of its own (returned as `id`). */
  const get = (url: string) => {
    calls += 1;
    const id = `${platform}-integrity-${calls}`;
    return { id, call: request(running.url).get(url).set(ADMIN_HEADERS).set('x-request-id', id) };
  };
  const page = async (url: string) => flat((await get(url).call.expect(200)).text);

  beforeAll(async () => {
    tmp = tempDir();
    path = join(tmp.dir, 'audit.db');
    running = await startApiApp(
      platform,
      withMetadata(
        auditApiApp(
          { store: path, stream: false, trustRequestId: true },
          { guard: AdminHeaderGuard },
        ),
        {
          controllers: [NoteOrdersController],
        },
      ),
    );
    audit = running.app.get(AuditService);
    for (let i = 1; i <= 5; i += 1) {
      await request(running.url)
        .patch(`/orders/${i}`)
        .send({ note: `n${i}` })
        .expect(200);
    }
    // Read back through the API: each order's event carries its place in the chain.
    const res = await get('/audit/events?action=order.update').call.expect(200);
    orders = (res.body.items as AuditEvent[]).reverse();
  });

  afterAll(async () => {
    await running.close();
    tmp.cleanup();
  });

  it('gives every event read through the API its sequence number, in the order recorded', () => {
    expect(orders.map((e) => [e.target?.id, e.sequence])).toEqual([
      ['1', 1],
      ['2', 2],
      ['3', 3],
      ['4', 4],
      ['5', 5],
    ]);
  });

  it('says no verification ran yet, on the API (recorded as a read) and on every viewer page', async () => {
    const { id, call } = get('/audit/integrity');
    const res = await call.expect(200);
    expect(res.body).toEqual({ verified: false });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-request-id']).toBe(id);
    expect((await audit.query({ requestId: id })).items).toEqual([
      expect.objectContaining({
        action: 'audit.read',
        outcome: 'success',
        actor: expect.objectContaining({ id: AUDITOR.id }),
        request: expect.objectContaining({ path: '/audit/integrity' }),
        results: { verified: false },
        labels: { via: 'api', endpoint: 'integrity' },
      }),
    ]);
    const third = orders[2]!;
    for (const url of ['/audit', `/audit/view/events/${third.id}`, '/audit/view/history/order/3']) {
      expect(await page(url)).toContain(
        'data-integrity="unverified"> Not verified yet in this process — run <code>nestjs-audit verify</code> or <code>AuditService.verify()</code>.',
      );
    }
  });

  it('is refused without the guard, like every route of the API', async () => {
    const res = await request(running.url).get('/audit/integrity').expect(403);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body.verified).toBeUndefined();
  });

  it('reports how far the trail was verified, and the viewer shows it with each number', async () => {
    const result = await audit.verify();
    expect(result.intact).toBe(true);
    const res = await get('/audit/integrity').call.expect(200);
    expect(res.body).toEqual({
      verified: true,
      intact: true,
      from: 1,
      verifiedTo: result.verifiedTo,
      head: result.head,
      verifiedAt: result.verifiedAt,
    });
    const banner = `<strong>Verified up to #${result.verifiedTo}</strong> at <time datetime="${result.verifiedAt}">`;
    const list = await page('/audit');
    expect(list).toContain(banner);
    for (const order of orders) {
      expect(list).toContain(
        `data-seq="${order.sequence}" title="Sequence number in the hash chain">#${order.sequence}</span>`,
      );
    }
    const third = orders[2]!;
    const event = await page(`/audit/view/events/${third.id}`);
    expect(event).toContain(banner);
    expect(event).toMatch(/<div class="headline">.*>#3<\/span> <\/div>/);
    const timeline = await page('/audit/view/history/order/3');
    expect(timeline).toContain(banner);
    expect(timeline).toContain('data-seq="3"');
  });

  it('names the first tampered event and the kind of break once a verification finds it', async () => {
    // Someone with write access to the file turns the outcome of #3 into a failure.
    const db = new Database(path);
    db.exec('DROP TRIGGER audit_payloads_append_only_update');
    db.prepare(
      `UPDATE audit_payloads SET payload = replace(payload, '"outcome":"success"', '"outcome":"failure"') WHERE seq = 3`,
    ).run();
    db.close();

    // The banner reports the latest verification: intact until one runs again.
    expect(await page('/audit')).toContain('data-integrity="intact"');
    const result = await audit.verify();
    expect(result).toMatchObject({
      intact: false,
      verifiedTo: 2,
      break: { kind: 'modified', seq: 3 },
    });

    const res = await get('/audit/integrity').call.expect(200);
    expect(res.body).toEqual({
      verified: true,
      intact: false,
      from: 1,
      verifiedTo: 2,
      head: result.head,
      verifiedAt: result.verifiedAt,
      break: { kind: 'modified', seq: 3, eventId: orders[2]!.id, message: result.break!.message },
    });
    for (const url of [
      '/audit',
      `/audit/view/events/${orders[0]!.id}`,
      '/audit/view/history/order/1',
    ]) {
      const html = await page(url);
      expect(html).toContain(
        'role="alert" data-integrity="tampered" data-break-seq="3" data-break-kind="modified">',
      );
      expect(html).toContain(
        `<strong>Tampered: #3 modified</strong> · found at <time datetime="${result.verifiedAt}">`,
      );
      expect(html).toContain(`(event ${orders[2]!.id}). Events up to #2 checked intact before it.`);
      expect(html).not.toContain('data-integrity="intact"');
    }
  });
});
