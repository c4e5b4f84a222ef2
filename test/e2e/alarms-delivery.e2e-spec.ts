import { join } from 'node:path';
import request from 'supertest';
import { AuditModule, AuditService, AuditStore, type AuditModuleOptions } from '../../src';
import { verifyAuditWebhookSignature } from '../../src/alarms/notifiers/webhook-signature';
import { PLATFORMS, startApp, tempDir, type RunningApp } from '../utils/apps';
import { eventually, Inbox, InboxNotifier } from '../utils/alarm-inbox';
import { HttpReceiver } from '../utils/http-receiver';
import { SmtpReceiver } from '../utils/smtp-receiver';
import { asUser, fixtureApp } from '../utils/users-app';
import { outboxOf } from '../utils/outbox-of';

const SECRET = 'webhook-secret-0123456789';
const CANARY = 'CANARY-PHONE-7f3a9c';
const ALICE = { id: 'u-alice', name: 'Alice', email: 'alice@shop.test', roles: ['admin'] };
const RUNBOOK =
  '*Call them back* _before_ resetting: <https://runbook.shop.test/mfa?step=1&lang=en|runbook>';
/** Slack markup, a mention and a link in a user's own name. */
const MALLORY = {
  id: 'u-mallory',
  name: '*x* _y_ ~z~ `w` <!channel> https://evil.test/x',
  email: 'mallory@shop.test',
  roles: ['admin'],
};
const MALLORY_IN_SLACK = '∗x∗ ˍyˍ ∼z∼ ˋwˋ &lt;!channel&gt; hxxps[://]evil[.]test/x';
const RUNBOOK_IN_SLACK =
  '*Call them back* _before_ resetting: <https://runbook.shop.test/mfa?step=1&amp;lang=en|runbook>';

interface SlackBody {
  text: string;
  blocks: { type: string; text?: { type: string; text: string } }[];
}

describe.each(PLATFORMS)('alarms delivered to real receivers on %s', (platform) => {
  let running: RunningApp;
  let smtp: SmtpReceiver;
  let slack: HttpReceiver;
  let hook: HttpReceiver;
  let tmp: ReturnType<typeof tempDir>;
  let store: AuditStore;

  beforeAll(async () => {
    tmp = tempDir();
    smtp = await SmtpReceiver.start();
    slack = await HttpReceiver.start();
    hook = await HttpReceiver.start();
    const options: AuditModuleOptions = {
      store: join(tmp.dir, 'audit.db'),
      stream: false,
      serviceName: 'shop',
      alarms: {
        channels: {
          security: {
            type: 'email',
            transport: smtp.url,
            from: 'audit@shop.test',
            to: ['security@shop.test', 'cfo@shop.test'],
          },
          ops: { type: 'slack', webhookUrl: `${slack.url}/services/T000/B000/xyz` },
          siem: {
            type: 'webhook',
            url: `${hook.url}/audit-alarms`,
            secret: SECRET,
            timeoutMs: 300,
          },
          inbox: InboxNotifier,
        },
        rules: [
          {
            name: 'mfa-phone-changed',
            action: 'user.*',
            changed: ['mfa.phone'],
            channels: ['security', 'ops', 'siem', 'inbox'],
            severity: 'high',
            title: 'MFA phone changed for user {target.id}',
            // Slack markup of the rule's author: kept in Slack, unlike the values filled in.
            message: `{actor.name} changed the MFA phone of user {target.id}: {changes}. ${RUNBOOK}`,
          },
          {
            name: 'phone-changed',
            action: 'user.*',
            changed: ['phone'],
            channels: ['security', 'siem'],
            message: '{actor.email} changed {target.type} {target.id}: {changes}',
          },
        ],
        backoff: { initialMs: 20, maxMs: 200 },
        pollIntervalMs: 50,
        // The Slack and webhook receivers run on loopback, reached only when allowed.
        allowPrivateNetworks: ['127.0.0.1'],
        viewerUrl: 'https://admin.shop.test/audit',
      },
    };
    running = await startApp(platform, {
      imports: [AuditModule.forRoot(options)],
      controllers: fixtureApp.controllers,
      providers: [...fixtureApp.providers, Inbox, InboxNotifier],
    });
    store = running.app.get(AuditStore);
    await request(running.url)
      .post('/users')
      .set(asUser(ALICE))
      .send({ name: 'Bob', email: 'bob@shop.test', mfa: { enabled: true, phone: '+1 555 0100' } })
      .expect(201);
    // Setting an MFA phone at creation is a change of mfa.phone too: let those alarms arrive,
    // then start every test from empty receivers.
    await smtp.waitForMessages(1);
    await slack.waitForRequests(1);
    await hook.waitForRequests(1);
    await eventually(() => running.app.get(Inbox).messages.length === 1, 'the creation alarm');
    await eventually(
      async () => (await outboxOf(store).listAttempts({})).length === 4,
      'attempt rows',
    );
    smtp.messages.length = 0;
    slack.requests.length = 0;
    hook.requests.length = 0;
    running.app.get(Inbox).messages.length = 0;
  });

  afterAll(async () => {
    await running?.close();
    await Promise.all([smtp?.close(), slack?.close(), hook?.close()]);
    tmp?.cleanup();
  });

  it('sends one alarm per channel for an MFA phone change: e-mail, Slack, signed webhook, custom notifier', async () => {
    const res = await request(running.url)
      .patch('/users/1/mfa')
      .set(asUser(ALICE))
      .send({ phone: '+1 555 0199' })
      .expect(200);
    const requestId = res.headers['x-request-id'];

    const [mail] = await smtp.waitForMessages(1);
    expect(mail?.envelope.to.sort()).toEqual(['cfo@shop.test', 'security@shop.test']);
    expect(mail?.subject).toContain('MFA phone changed for user 1');
    expect(mail?.text).toContain('Alice changed the MFA phone of user 1');
    expect(mail?.text).toContain('+1 555 0100');
    expect(mail?.text).toContain('+1 555 0199');
    expect(mail?.html).toContain('+1 555 0199');

    const [post] = await slack.waitForRequests(1);
    const slackBody = JSON.parse(post?.body ?? '{}') as { text: string; blocks: unknown[] };
    expect(slackBody.text).toContain('MFA phone changed for user 1');
    expect(JSON.stringify(slackBody.blocks)).toContain(
      'https://admin.shop.test/audit/view/events/',
    );

    const [delivery] = await hook.waitForRequests(1);
    expect(
      verifyAuditWebhookSignature({
        secret: SECRET,
        body: delivery?.rawBody ?? '',
        timestamp: delivery?.headers['x-audit-timestamp'],
        signature: delivery?.headers['x-audit-signature'],
      }),
    ).toBe(true);
    const payload = JSON.parse(delivery?.body ?? '{}') as {
      rule: string;
      count: number;
      events: { id: string; changes: { field: string; before?: string; after?: string }[] }[];
    };
    expect(payload.rule).toBe('mfa-phone-changed');
    expect(payload.count).toBe(1);
    expect(payload.events[0]?.changes).toEqual(
      expect.arrayContaining([
        { field: 'mfa.phone', op: 'changed', before: '+1 555 0100', after: '+1 555 0199' },
      ]),
    );
    const inbox = running.app.get(Inbox);
    await eventually(() => inbox.messages.length === 1, 'the custom notifier');
    expect(inbox.messages[0]).toMatchObject({ rule: 'mfa-phone-changed', kind: 'event', count: 1 });
    // The event the alarm names is the one the request recorded.
    const event = await running.app.get(AuditService).get(payload.events[0]?.id ?? '');
    expect(event?.request?.id).toBe(requestId);

    // Every attempt is recorded and queryable, one delivered attempt per channel.
    const ofThisAlarm = async () =>
      (await outboxOf(store).listAttempts({})).filter((a) =>
        a.dedupKey.endsWith(payload.events[0]?.id ?? '-'),
      );
    await eventually(async () => (await ofThisAlarm()).length === 4, 'attempt rows');
    const attempts = await ofThisAlarm();
    expect(attempts.map((a) => [a.channel, a.result]).sort()).toEqual([
      ['inbox', 'delivered'],
      ['ops', 'delivered'],
      ['security', 'delivered'],
      ['siem', 'delivered'],
    ]);
  });

  it("shows the rule's Slack markup as written and a user's markup inert in Slack", async () => {
    slack.requests.length = 0;
    smtp.messages.length = 0;
    await request(running.url)
      .patch('/users/1/mfa')
      .set(asUser(MALLORY))
      .send({ phone: '+1 555 0600' })
      .expect(200);
    const [post] = await slack.waitForRequests(1);
    const body = JSON.parse(post?.body ?? '{}') as SlackBody;
    const changes = 'mfa.phone: +1 555 0199 → +1 555 0600';
    expect(body.blocks[1]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `${MALLORY_IN_SLACK} changed the MFA phone of user 1: ${changes}. ${RUNBOOK_IN_SLACK}`,
      },
    });
    expect(body.text).toBe(
      `[HIGH] MFA phone changed for user 1: ${MALLORY_IN_SLACK} changed the MFA phone of user 1: ${changes}. ${RUNBOOK_IN_SLACK}`,
    );
    expect(body.blocks[2]?.text?.text).toContain(
      `*Who:* ${MALLORY_IN_SLACK} &lt;mallory@shop.test&gt; (id u-mallory)`,
    );
    expect(post?.body).not.toContain('<!channel>');
    expect(post?.body).not.toContain('https://evil.test');
    // The other channels get the plain text; wait for them so the next test starts clean.
    const id = String(post?.headers['x-audit-alarm-id']).split(':').at(-1) ?? '-';
    const attempts = async () =>
      (await outboxOf(store).listAttempts({})).filter((a) => a.dedupKey.endsWith(id));
    await eventually(async () => (await attempts()).length === 4, 'attempt rows');
    const [mail] = await smtp.waitForMessages(1);
    expect(mail?.text).toContain(`${MALLORY.name} changed the MFA phone of user 1`);
    smtp.messages.length = 0;
    hook.requests.length = 0;
  });

  it('keeps redacted values redacted in every message', async () => {
    smtp.messages.length = 0;
    hook.requests.length = 0;
    // PUT /users/:id redacts "phone" at the route: the alarm must never carry its value.
    await request(running.url)
      .put('/users/1')
      .set(asUser(ALICE))
      .send({ phone: CANARY })
      .expect(200);
    const [mail] = await smtp.waitForMessages(1);
    const [delivery] = await hook.waitForRequests(1);
    expect(mail?.raw).not.toContain(CANARY);
    expect(mail?.text).toContain('[redacted]');
    expect(delivery?.body).not.toContain(CANARY);
    expect(delivery?.body).toContain('[REDACTED]');
    const stored = await running.app.get(AuditService).listAlarms({ rule: 'phone-changed' });
    expect(JSON.stringify(stored)).not.toContain(CANARY);
  });

  it('retries a failing webhook with backoff and delivers it exactly once when it recovers', async () => {
    hook.requests.length = 0;
    hook.respondWith({ status: 500 }, { status: 503 }, { hang: true });
    await request(running.url)
      .put('/users/1')
      .set(asUser(ALICE))
      .send({ phone: '+1 555 0300' })
      .expect(200);
    await eventually(() => hook.accepted().length === 1, 'the webhook to be accepted');
    const id = hook.accepted()[0]?.headers['x-audit-alarm-id'];
    // 500, 503, a hang cut by the 300 ms timeout, then 200: four tries of one alarm id.
    expect(hook.requests.map((r) => r.headers['x-audit-alarm-id'])).toEqual([id, id, id, id]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hook.accepted()).toHaveLength(1);
    const attempts = (
      await running.app.get(AuditService).listAlarmAttempts({ channel: 'siem' })
    ).filter((a) => a.dedupKey === id);
    expect(attempts.map((a) => a.result).sort()).toEqual([
      'delivered',
      'failed',
      'failed',
      'failed',
    ]);
  });

  it('honours 429 Retry-After before the next attempt', async () => {
    hook.requests.length = 0;
    hook.respondWith({ status: 429, headers: { 'retry-after': '1' } });
    await request(running.url)
      .put('/users/1')
      .set(asUser(ALICE))
      .send({ phone: '+1 555 0400' })
      .expect(200);
    await eventually(() => hook.accepted().length === 1, 'the webhook after Retry-After');
    const [limited, accepted] = hook.requests;
    expect(limited?.status).toBe(429);
    expect((accepted?.receivedAt ?? 0) - (limited?.receivedAt ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('never slows or fails the request while a channel hangs', async () => {
    hook.requests.length = 0;
    hook.respondWith({ hang: true }, { hang: true });
    await request(running.url)
      .put('/users/1')
      .set(asUser(ALICE))
      .send({ phone: '+1 555 0500' })
      .expect(200);
    // Answered before the webhook could accept anything: delivery needs two 300 ms timeouts
    // first, and the response did not wait for them.
    expect(hook.accepted()).toHaveLength(0);
    await eventually(() => hook.accepted().length === 1, 'the webhook after two timeouts');
    expect(hook.requests).toHaveLength(3);
  });

  it('delivers an alarm raised by application code with AuditService.alarm()', async () => {
    const inbox = running.app.get(Inbox);
    const before = inbox.messages.length;
    const ids = await running.app.get(AuditService).alarm({
      title: 'Refund above limit',
      message: 'Refund r-7: 12,000 EUR',
      channels: ['inbox'],
      severity: 'critical',
    });
    expect(ids).toHaveLength(1);
    await eventually(() => inbox.messages.length === before + 1, 'the manual alarm');
    expect(inbox.messages.at(-1)).toMatchObject({
      id: ids[0],
      kind: 'manual',
      title: 'Refund above limit',
      severity: 'critical',
    });
  });
});
