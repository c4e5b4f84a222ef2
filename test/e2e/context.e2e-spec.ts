import { Controller, Injectable, Param, Post } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import request from 'supertest';
import { setTimeout as sleep } from 'node:timers/promises';
import { Audited, AuditModule, AuditService, InMemoryAuditStore } from '../../src';
import { PLATFORMS, startApp, type RunningApp } from '../utils/apps';
import { asUser, HeaderAuthGuard } from '../utils/users-app';

/** A service deep in the call chain that enriches the current event after awaiting. */
@Injectable()
class TaggingService {
  constructor(private readonly audit: AuditService) {}
  async tag(n: string): Promise<void> {
    await sleep(Number(n) % 7);
    this.audit.current()?.addLabels({ n }).setMessage(`item ${n}`);
  }
}

@Controller('items')
class ItemsController {
  constructor(private readonly tagging: TaggingService) {}

  @Post(':id')
  @Audited('item')
  async touch(@Param('id') id: string): Promise<{ id: string }> {
    await sleep(Number(id) % 5);
    await this.tagging.tag(id);
    return { id };
  }
}

describe.each(PLATFORMS)('per-request context on %s', (platform) => {
  let running: RunningApp;
  let store: InMemoryAuditStore;

  beforeAll(async () => {
    store = new InMemoryAuditStore();
    running = await startApp(platform, {
      imports: [AuditModule.forRoot({ store, stream: false, trustRequestId: true })],
      controllers: [ItemsController],
      providers: [TaggingService, { provide: APP_GUARD, useClass: HeaderAuthGuard }],
    });
  });
  afterAll(() => running.close());

  it('never leaks between 200 concurrent requests from 20 users', async () => {
    const requests = Array.from({ length: 200 }, (_, i) => ({
      id: String(i),
      user: `user-${i % 20}`,
      requestId: `req-${i}`,
    }));
    const responses = await Promise.all(
      requests.map((r) =>
        request(running.url)
          .post(`/items/${r.id}`)
          .set(asUser({ id: r.user, email: `${r.user}@example.com` }))
          .set('x-request-id', r.requestId),
      ),
    );
    expect(responses.every((res) => res.status === 201)).toBe(true);
    const events = store.all();
    expect(events).toHaveLength(200);
    const byRequest = new Map(events.map((e) => [e.request?.id, e]));
    for (const r of requests) {
      const event = byRequest.get(r.requestId);
      expect(event).toBeDefined();
      expect(event?.actor.id).toBe(r.user);
      expect(event?.actor.email).toBe(`${r.user}@example.com`);
      expect(event?.target).toEqual({ type: 'item', id: r.id });
      expect(event?.labels).toEqual({ n: r.id });
      expect(event?.message).toBe(`item ${r.id}`);
    }
  });

  it('has no context outside a request', () => {
    expect(running.app.get(AuditService).current()).toBeUndefined();
  });
});
