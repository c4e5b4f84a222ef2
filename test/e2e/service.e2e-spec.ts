import { Controller, Post } from '@nestjs/common';
import request from 'supertest';
import { join } from 'node:path';
import {
  AuditModule,
  AuditQueryError,
  AuditRecordError,
  AuditService,
  SqliteAuditStore,
} from '../../src';
import { PLATFORMS, startApp, tempDir, type RunningApp } from '../utils/apps';
import { asUser, HeaderAuthGuard } from '../utils/users-app';
import { APP_GUARD } from '@nestjs/core';

@Controller('manual')
class ManualController {
  constructor(private readonly audit: AuditService) {}

  @Post('export')
  async export(): Promise<{ id: string }> {
    const event = await this.audit.record({
      action: 'report.export',
      target: { type: 'report', id: 7 },
      labels: { format: 'csv' },
    });
    return { id: event.id };
  }
}

describe.each(PLATFORMS)('AuditService on %s with a SQLite file', (platform) => {
  let running: RunningApp;
  let audit: AuditService;
  let tmp: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    tmp = tempDir();
    running = await startApp(platform, {
      imports: [
        AuditModule.forRoot({
          store: join(tmp.dir, 'nested', 'audit.db'),
          stream: false,
          trustRequestId: true,
          serviceName: 'billing',
        }),
      ],
      controllers: [ManualController],
      providers: [{ provide: APP_GUARD, useClass: HeaderAuthGuard }],
    });
    audit = running.app.get(AuditService);
  });
  afterAll(async () => {
    await running.close();
    tmp.cleanup();
  });

  it('records outside HTTP with a service actor and returns the committed event', async () => {
    const event = await audit.record({
      action: 'invoice.void',
      target: { type: 'invoice', id: 12 },
      message: 'nightly job',
    });
    expect(event.actor).toEqual({
      type: 'service',
      id: 'billing',
      name: 'billing',
      authenticated: false,
    });
    expect(event.request).toBeUndefined();
    // Read back with its number in the store's hash chain, which the committed event lacks.
    await expect(audit.get(event.id)).resolves.toEqual({ ...event, sequence: expect.any(Number) });
  });

  it('inherits the request actor and request id inside a request', async () => {
    const res = await request(running.url)
      .post('/manual/export')
      .set(asUser({ sub: 'kc-1', username: 'kim', roles: 'auditor' }))
      .set('x-request-id', 'manual-1')
      .expect(201);
    const event = await audit.get(res.body.id);
    expect(event).toMatchObject({
      action: 'report.export',
      actor: { id: 'kc-1', name: 'kim', roles: ['auditor'], type: 'user', authenticated: true },
      request: { id: 'manual-1', method: 'POST', path: '/manual/export' },
      target: { type: 'report', id: '7' },
      labels: { format: 'csv' },
    });
    // The interceptor recorded the request itself too, with the same request id.
    const { items } = await audit.query({ requestId: 'manual-1' });
    expect(items.map((e) => e.action).sort()).toEqual(['manual.create', 'report.export']);
  });

  it('recordUpdated keeps only the keys whose values differ', async () => {
    const event = await audit.recordUpdated(
      'Edit made to MFA information',
      'user',
      { id: 'u1', name: 'Ann', phone: '111', tags: ['a'] },
      { id: 'u1', name: 'Ann', phone: '222', tags: ['a'], mfa: true },
      { id: 'u1' },
    );
    expect(event.action).toBe('user.update');
    expect(event.message).toBe('Edit made to MFA information');
    expect(event.target).toEqual({ type: 'user', id: 'u1' });
    expect(event.changes?.before).toEqual({ phone: '111' });
    expect(event.changes?.after).toEqual({ phone: '222', mfa: true });
    expect(event.changes?.fields).toEqual(['mfa', 'phone']);
  });

  it('recordUpdated takes the target id from after.id, else before.id, when none is given', async () => {
    const fromAfter = await audit.recordUpdated(
      'm',
      'user',
      { id: 'u1', a: 1 },
      { id: 'u2', a: 2 },
    );
    expect(fromAfter.target).toEqual({ type: 'user', id: 'u2' });
    const fromBefore = await audit.recordUpdated('m', 'user', { id: 7, a: 1 }, { a: 2 });
    expect(fromBefore.target).toEqual({ type: 'user', id: '7' });
    const none = await audit.recordUpdated('m', 'user', { a: 1 }, { a: 2 });
    expect(none.target).toEqual({ type: 'user' });
  });

  it('rejects invalid manual entries with a clear error', async () => {
    await expect(audit.record({} as never)).rejects.toThrow(AuditRecordError);
    await expect(audit.record({ action: '' })).rejects.toThrow(/"action" is required/);
    await expect(audit.record({ action: 'a.b', outcome: 'great' as never })).rejects.toThrow(
      /outcome/,
    );
    await expect(audit.recordUpdated('m', '', {}, {})).rejects.toThrow(/recordType/);
  });

  it('queries newest first with a keyset cursor, and history oldest first', async () => {
    for (let i = 0; i < 5; i++) {
      await audit.record({
        action: 'doc.update',
        target: { type: 'doc', id: 'd1' },
        actor: { id: 'writer' },
        labels: { i },
      });
    }
    await audit.record({
      action: 'doc.update',
      target: { type: 'doc', id: 'd2' },
      actor: { id: 'writer' },
    });
    const first = await audit.query({ resourceType: 'doc', resourceId: 'd1', limit: 2 });
    expect(first.items.map((e) => e.labels?.i)).toEqual(['4', '3']);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await audit.query({
      resourceType: 'doc',
      resourceId: 'd1',
      limit: 2,
      cursor: first.nextCursor,
    });
    expect(second.items.map((e) => e.labels?.i)).toEqual(['2', '1']);
    const last = await audit.query({
      resourceType: 'doc',
      resourceId: 'd1',
      limit: 2,
      cursor: second.nextCursor,
    });
    expect(last.items.map((e) => e.labels?.i)).toEqual(['0']);
    expect(last.nextCursor).toBeUndefined();
    expect((await audit.query({ actorId: 'writer', limit: 100 })).items).toHaveLength(6);
    const history = await audit.history('doc', 'd1');
    expect(history.map((e) => e.labels?.i)).toEqual(['0', '1', '2', '3', '4']);
    const now = Date.now();
    expect((await audit.query({ from: new Date(now + 60_000) })).items).toHaveLength(0);
    expect((await audit.query({ to: new Date(now - 3_600_000).toISOString() })).items).toHaveLength(
      0,
    );
  });

  it("pages a record's history newest first, and keeps every read to the tenant asked for", async () => {
    const made: { id: string; tenant: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const tenant = i % 2 === 0 ? 'acme' : 'globex';
      const event = await audit.record({
        action: 'doc.update',
        target: { type: 'doc', id: 'shared' },
        tenant,
        labels: { i },
      });
      made.push({ id: event.id, tenant });
    }
    const first = await audit.historyPage('doc', 'shared', { limit: 2, tenant: 'acme' });
    expect(first.items.map((e) => [e.labels?.i, e.tenant])).toEqual([
      ['4', 'acme'],
      ['2', 'acme'],
    ]);
    const rest = await audit.historyPage('doc', 'shared', {
      limit: 2,
      tenant: 'acme',
      cursor: first.nextCursor,
    });
    expect(rest.items.map((e) => e.labels?.i)).toEqual(['0']);
    expect(rest.nextCursor).toBeUndefined();
    expect((await audit.historyPage('doc', 'shared')).items).toHaveLength(6);
    const ofGlobex = (await audit.query({ tenant: 'globex', limit: 100 })).items;
    expect(ofGlobex.map((e) => e.labels?.i)).toEqual(['5', '3', '1']);
    const [acme, globex] = [made[0]!, made[1]!];
    await expect(audit.get(globex.id, { tenant: 'acme' })).resolves.toBeUndefined();
    await expect(audit.get(acme.id, { tenant: 'acme' })).resolves.toMatchObject({ id: acme.id });
    await expect(audit.get(globex.id)).resolves.toMatchObject({ tenant: 'globex' });
    await expect(audit.get(acme.id, { tenant: '' })).rejects.toThrow(AuditRecordError);
    await expect(audit.historyPage('doc', 'shared', { limit: 0 })).rejects.toThrow(/1 to 1000/);
  });

  it('rejects bad filters with a clear error', async () => {
    await expect(audit.query({ actor: 'x' } as never)).rejects.toThrow(
      /Unknown query filter "actor"/,
    );
    await expect(audit.query({ limit: 0 })).rejects.toThrow(AuditQueryError);
    await expect(audit.query({ limit: 1001 })).rejects.toThrow(/1 to 1000/);
    await expect(audit.query({ cursor: 'not-a-cursor!' })).rejects.toThrow(/Malformed cursor/);
    await expect(audit.query({ from: 'yesterday' })).rejects.toThrow(/Invalid date for "from"/);
  });

  it('persists to the SQLite file: a second store on the same file sees the records', async () => {
    const event = await audit.record({ action: 'file.check' });
    const reader = new SqliteAuditStore({ path: join(tmp.dir, 'nested', 'audit.db') });
    await reader.init();
    try {
      const sequence = (await audit.get(event.id))?.sequence;
      expect(sequence).toEqual(expect.any(Number));
      await expect(reader.get(event.id)).resolves.toEqual({ ...event, sequence });
    } finally {
      await reader.close();
    }
  });
});
