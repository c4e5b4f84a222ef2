import { Controller, Param, Patch, Post, UnauthorizedException } from '@nestjs/common';
import request from 'supertest';
import { Audited, AuditStore } from '../../src';
import { startWebhookAlarmApp, type WebhookAlarmApp } from '../utils/alarm-app';
import { PLATFORMS, type RunningApp } from '../utils/apps';
import { eventually } from '../utils/alarm-inbox';
import type { HttpReceiver, RecordedRequest } from '../utils/http-receiver';
import { outboxOf } from '../utils/outbox-of';

const SECRET = 'webhook-secret-0123456789';
const FLOOD = 100;
/** Separate messages of one rule per period, as configured below. */
const LIMIT = 10;
/** Sends in flight per channel: the dispatcher's default `channelConcurrency`. */
const CHANNEL_SLOTS = 2;

@Controller()
class AccountController {
  @Patch('users/:id/phone')
  @Audited('user', { action: 'user.phone_change' })
  changePhone(@Param('id') id: string): { id: string } {
    return { id };
  }

  @Post('login')
  @Audited('session', { action: 'session.login', id: () => 'alice' })
  login(): never {
    throw new UnauthorizedException('wrong password');
  }
}

interface Delivery {
  rule: string;
  severity: string;
  count: number;
  kind: string;
  title: string;
}

function deliveries(requests: readonly RecordedRequest[]): Delivery[] {
  return requests.map((r) => JSON.parse(r.body) as Delivery);
}

describe.each(PLATFORMS)('alarm priority and flood control on %s', (platform) => {
  let alarmApp: WebhookAlarmApp;
  let running: RunningApp;
  let hook: HttpReceiver;

  beforeAll(async () => {
    alarmApp = await startWebhookAlarmApp(platform, {
      controllers: [AccountController],
      alarms: (url) => ({
        channels: { siem: { type: 'webhook', url: `${url}/alarms`, secret: SECRET } },
        rules: [
          {
            name: 'phone-changed',
            action: 'user.phone_change',
            channels: ['siem'],
            severity: 'medium',
          },
          {
            name: 'failed-login',
            action: 'session.login',
            outcome: 'failure',
            channels: ['siem'],
            severity: 'critical',
          },
        ],
        // The default count; a long period, so that a slow machine cannot split the flood
        // over two periods.
        rateLimit: { count: LIMIT, per: '1h' },
        pollIntervalMs: 50,
      }),
    });
    ({ running, hook } = alarmApp);
  });

  afterAll(() => alarmApp?.close());

  it('delivers a critical alarm before a flood of lesser ones queued before it, and folds the flood', async () => {
    // A slow receiver: the first sends stay open until released, every later one takes a while.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    hook.respondWith(
      ...Array.from({ length: CHANNEL_SLOTS }, () => ({ until: released })),
      ...Array.from({ length: 2 * FLOOD }, () => ({ delayMs: 20 })),
    );
    const changePhone = (i: number) =>
      request(running.url)
        .patch(`/users/${i}/phone`)
        .send({ phone: `+1 555 ${i}` })
        .expect(200);

    // The first alarms take every send slot of the channel, and stay there.
    for (let i = 0; i < CHANNEL_SLOTS; i += 1) await changePhone(i);
    await hook.waitForRequests(CHANNEL_SLOTS, 20_000);
    for (let i = CHANNEL_SLOTS; i < FLOOD; i += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, FLOOD - i) }, (_, j) => changePhone(i + j)),
      );
    }
    await request(running.url).post('/login').send({ password: 'guess' }).expect(401);
    const store = running.app.get(AuditStore);
    await eventually(
      async () => (await outboxOf(store).list({ rule: 'failed-login' })).length === 1,
      'the failed-login alarm in the outbox',
    );
    // Everything is queued behind the two sends in flight when the critical alarm is raised.
    expect(hook.requests).toHaveLength(CHANNEL_SLOTS);

    release();
    await eventually(
      () =>
        deliveries(hook.accepted())
          .filter((d) => d.rule === 'phone-changed')
          .reduce((sum, d) => sum + d.count, 0) === FLOOD,
      'every phone change delivered',
    );

    const arrived = deliveries(hook.requests);
    const critical = arrived.findIndex((d) => d.rule === 'failed-login');
    // Its delay, in deliveries: only the sends already in flight when it was raised came first.
    expect(critical).toBe(CHANNEL_SLOTS);
    expect(arrived[critical]).toMatchObject({ severity: 'critical', count: 1 });

    // The flood: LIMIT separate messages, and one digest counting the rest.
    const flood = arrived.filter((d) => d.rule === 'phone-changed');
    expect(flood.map((d) => d.count)).toEqual([...Array<number>(LIMIT).fill(1), FLOOD - LIMIT]);
    expect(flood[LIMIT]).toMatchObject({ kind: 'digest', count: FLOOD - LIMIT });
    expect(flood[LIMIT]?.title).toMatch(new RegExp(`\\(${FLOOD - LIMIT} more like this\\)$`));
    expect(arrived).toHaveLength(LIMIT + 2);
    // The dispatcher settles a message after its receiver answered, so the last settlement (the
    // digest's, which settles every row it folded) can still be on its way here.
    await eventually(
      async () => (await outboxOf(store).stats()).pending === 0,
      'every outbox row settled',
    );
    expect(await outboxOf(store).stats()).toMatchObject({ pending: 0, dead: 0 });
  });
});
