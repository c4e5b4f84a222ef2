import { HttpReceiver } from '../../../test/utils/http-receiver';
import { closedPort } from '../../../test/utils/smtp-receiver';
import type { AlarmMessage } from '../../stores/alarm-message';
import { createBuiltInNotifier } from './create-notifier';
import { destinationPolicy, type DestinationPolicy } from './destination-guard';
import {
  escapeMrkdwn,
  neutralizeMrkdwn,
  SLACK_LIMITS,
  slackPayload,
  SlackNotifier,
  truncateMrkdwn,
  type SlackBlock,
  type SlackPayload,
} from './slack.notifier';
import {
  deliveryFailure,
  makeAlarmEvent,
  makeAlarmMessage,
  sendContext,
} from '../../../test/fixtures/alarm-messages';

function message(overrides: Partial<AlarmMessage> = {}): AlarmMessage {
  return makeAlarmMessage({ id: 'mfa-phone-changed:ops:evt-1', channel: 'ops', ...overrides });
}

function texts(blocks: SlackBlock[]): string[] {
  return blocks.flatMap((block) => {
    if (block.type === 'context') return block.elements.map((e) => e.text);
    if (block.type === 'actions') return block.elements.map((e) => e.text.text);
    return [block.text.text];
  });
}

describe('slackPayload', () => {
  it('has a header, the text, who / what changed / when, a context line and a fallback', () => {
    const payload = slackPayload(message({ text: 'Phone of user 42 changed' }));
    expect(payload.text).toBe('[HIGH] MFA phone changed for user 42: Phone of user 42 changed');
    expect(payload.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    expect(payload.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: ':red_circle: MFA phone changed for user 42', emoji: true },
    });
    const details = texts(payload.blocks)[2];
    expect(details).toContain('*When:* 2026-03-14 10:02:05 UTC');
    expect(details).toContain('*Who:* Ada Lovelace &lt;ada@acme.test&gt; (id 7)');
    expect(details).toContain('*What:* user.update on user 42');
    expect(details).toContain('*Details:* Ada changed user 42');
    expect(details).toContain('• Phone: +1 555 0100 → +1 555 0199');
    expect(texts(payload.blocks).slice(3)).toEqual([
      ':red_circle: *HIGH*',
      'Rule: mfa-phone-changed',
      'Service: billing',
    ]);
  });

  it('adds an "Open in audit viewer" button and event links when there are URLs', () => {
    const url = 'https://admin.acme.test/audit/?rule=x&from=1';
    const payload = slackPayload(
      message({
        url,
        events: [makeAlarmEvent({ url: 'https://admin.acme.test/audit/?event=1&a=|b>' })],
      }),
    );
    const actions = payload.blocks.at(-1);
    expect(actions).toEqual({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Open in audit viewer' },
          url,
          action_id: 'open_audit_viewer',
        },
      ],
    });
    // The link's URL cannot end the link early or smuggle markup.
    expect(texts(payload.blocks)[2]).toContain(
      '<https://admin.acme.test/audit/?event=1&amp;a=%7Cb&gt;|Open this event>',
    );
  });

  it('leaves out links that are not http(s)', () => {
    const payload = slackPayload(
      message({ url: 'javascript:alert(1)', events: [makeAlarmEvent({ url: 'ftp://x/y' })] }),
    );
    expect(payload.blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(payload)).not.toContain('ftp://');
  });

  it('escapes Slack control characters in user data', () => {
    const payload = slackPayload(
      message({
        text: 'Hi <!channel> & <@U123> <https://evil.test|click>',
        events: [makeAlarmEvent({ actor: { type: 'user', name: '<!here>', id: '1' } })],
      }),
    );
    const all = texts(payload.blocks).join('\n');
    expect(all).toContain(
      'Hi &lt;!channel&gt; &amp; &lt;@U123&gt; &lt;hxxps[://]evil[.]test|click&gt;',
    );
    expect(all).toContain('&lt;!here&gt;');
    expect(all).not.toMatch(/<!channel>|<!here>|<@U123>/);
    expect(payload.text).not.toContain('<!channel>');
    expect(escapeMrkdwn('a & b < c > d')).toBe('a &amp; b &lt; c &gt; d');
  });

  it('neutralises mrkdwn markup and defangs links in user data, keeping its own labels', () => {
    expect(neutralizeMrkdwn('*bold* _it_ ~s~ `code`')).toBe('∗bold∗ ˍitˍ ∼s∼ ˋcodeˋ');
    expect(neutralizeMrkdwn('re-verify at https://sso.acme.test.evil.io/login?x=1 now')).toBe(
      're-verify at hxxps[://]sso[.]acme[.]test[.]evil[.]io/login?x=1 now',
    );
    expect(neutralizeMrkdwn('see www.evil.io/x or HTTP://1.2.3.4:80/')).toBe(
      'see www[.]evil[.]io/x or hxxp[://]1[.]2[.]3[.]4:80/',
    );
    const forged = '*SECURITY TEAM:* false alarm, re-verify at https://evil.io/sso';
    const payload = slackPayload(
      message({
        text: forged,
        groupKey: '_x_',
        events: [
          makeAlarmEvent({
            actor: { type: 'user', id: '1', name: forged },
            target: { type: 'user', id: '`42`' },
            changes: [{ field: 'note', op: 'changed', before: '~a~', after: forged }],
          }),
        ],
      }),
    );
    const all = [payload.text, ...texts(payload.blocks)].join('\n');
    expect(all).not.toMatch(/\*SECURITY|https:\/\/evil|`42`|~a~|_x_/);
    expect(all).toContain('∗SECURITY TEAM:∗ false alarm, re-verify at hxxps[://]evil[.]io/sso');
    expect(all).toContain('*Who:* ');
    expect(all).toContain('*What changed:*');
  });

  it("sends a message's Slack text as written: the template's markup kept, its values already neutralized", () => {
    const payload = slackPayload(
      message({
        title: '*Phone* changed',
        text: '*Phone changed* by *Eve*: see <https://runbook.example/x|runbook>',
        slackText: '*Phone changed* by ∗Eve∗: see <https://runbook.example/x|runbook> [REDACTED]',
      }),
    );
    expect(payload.blocks[1]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: '*Phone changed* by ∗Eve∗: see <https://runbook.example/x|runbook> [redacted]',
      },
    });
    // The header is plain text; the title in the notification text stays neutralized.
    expect(payload.blocks[0]).toMatchObject({ text: { text: ':red_circle: *Phone* changed' } });
    expect(payload.text).toBe(
      '[HIGH] ∗Phone∗ changed: *Phone changed* by ∗Eve∗: see <https://runbook.example/x|runbook> [redacted]',
    );
  });

  it('neutralizes the whole text when the Slack text is not a string (a hand-edited row)', () => {
    const payload = slackPayload(message({ text: '*Eve*', slackText: 42 as unknown as string }));
    expect(payload.blocks[1]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: '∗Eve∗' } });
  });

  it('cuts a long Slack text before a link rather than inside it', () => {
    const slackText = `${'a'.repeat(2990)} <https://runbook.example/x|runbook>`;
    const payload = slackPayload(message({ text: 'a', slackText }));
    expect(payload.blocks[1]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: `${'a'.repeat(2990)} …` },
    });
  });

  it('keeps within Block Kit limits, cutting with an ellipsis', () => {
    const payload = slackPayload(
      message({
        title: 'T'.repeat(400),
        text: 'x'.repeat(5000),
        events: [makeAlarmEvent({ text: 'y'.repeat(5000) })],
      }),
    );
    const header = payload.blocks[0];
    expect(header?.type === 'header' && header.text.text.length).toBe(SLACK_LIMITS.headerText);
    expect(header?.type === 'header' && header.text.text.endsWith('…')).toBe(true);
    for (const block of payload.blocks) {
      if (block.type === 'section') expect(block.text.text.length).toBeLessThanOrEqual(3000);
    }
    expect(payload.blocks[1]?.type === 'section' && payload.blocks[1].text.text.endsWith('…')).toBe(
      true,
    );
    expect(payload.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
  });

  it('keeps a long list of changes within one section and says that more were cut', () => {
    const changes = Array.from({ length: 200 }, (_, i) => ({
      field: `field${i}`,
      op: 'changed' as const,
      before: 'a'.repeat(20),
      after: 'b'.repeat(20),
    }));
    const section = slackPayload(message({ events: [makeAlarmEvent({ changes })] })).blocks[2];
    const text = section?.type === 'section' ? section.text.text : '';
    expect(text.length).toBeLessThanOrEqual(3000);
    expect(text).toContain('• Field0: ');
    expect(text.endsWith('\n…')).toBe(true);
  });

  it('never cuts an escaped entity in half', () => {
    const escaped = escapeMrkdwn('ab<<<<');
    expect(truncateMrkdwn(escaped, 6)).toBe('ab…');
    expect(truncateMrkdwn(escaped, 7)).toBe('ab&lt;…');
  });

  it('stays at 50 blocks for a long digest, saying how many events are not shown', () => {
    const events = Array.from({ length: 80 }, (_, i) => makeAlarmEvent({ id: `e${i}` }));
    const payload = slackPayload(
      message({ kind: 'digest', count: 500, events, url: 'https://admin.acme.test/audit/' }),
    );
    expect(payload.blocks).toHaveLength(SLACK_LIMITS.blocks);
    const all = texts(payload.blocks);
    expect(all).toContain('*500 events at 2026-03-14 10:02:05 UTC; the first 80:*');
    expect(all.some((t) => t.startsWith('*1.* *When:*'))).toBe(true);
    expect(all).toContain('…and 36 more listed events not shown here.');
    expect(all).toContain('500 events, first 80 listed');
    expect(payload.blocks.at(-1)?.type).toBe('actions');
  });
});

/** The receivers run on loopback: opted in as an operator would (`allowPrivateNetworks`). */
const LOOPBACK = destinationPolicy(['127.0.0.1']) as DestinationPolicy;

describe('SlackNotifier', () => {
  let receiver: HttpReceiver;
  const secretPath = '/services/T0000/B0000/XyZsecretToken123';

  beforeEach(async () => {
    receiver = await HttpReceiver.start();
  });

  afterEach(async () => {
    await receiver.close();
  });

  function notifier(): SlackNotifier {
    return createBuiltInNotifier(
      'ops',
      {
        type: 'slack',
        webhookUrl: `${receiver.url}${secretPath}`,
      },
      LOOPBACK,
    ) as SlackNotifier;
  }

  it('posts the Block Kit payload as JSON with the alarm id', async () => {
    await notifier().send(message(), sendContext());
    const [request] = await receiver.waitForRequests(1);
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe(secretPath);
    expect(request?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(request?.headers['x-audit-alarm-id']).toBe('mfa-phone-changed:ops:evt-1');
    expect(JSON.parse(request?.body ?? '')).toEqual(slackPayload(message()));
  });

  it('delivers user markup and links inert to the receiver', async () => {
    const forged = '*SECURITY TEAM:* re-verify at https://evil.io/sso `now` _please_ ~x~';
    await notifier().send(
      message({ events: [makeAlarmEvent({ actor: { type: 'user', id: '1', name: forged } })] }),
      sendContext(),
    );
    const [request] = await receiver.waitForRequests(1);
    const received = JSON.parse(request?.body ?? '') as SlackPayload;
    const all = texts(received.blocks).join('\n');
    expect(all).toContain(
      '*Who:* ∗SECURITY TEAM:∗ re-verify at hxxps[://]evil[.]io/sso ˋnowˋ ˍpleaseˍ ∼x∼ (id 1)',
    );
    expect(all).not.toMatch(/https:\/\/evil|\*SECURITY/);
  });

  it('fails for good on a 404 from Slack, quoting its reason but not the secret URL', async () => {
    receiver.respondWith({ status: 404, body: 'no_service' });
    const error = await deliveryFailure(notifier().send(message(), sendContext()));
    expect(error.permanent).toBe(true);
    expect(error.statusCode).toBe(404);
    expect(error.message).toContain('Slack channel "ops"');
    expect(error.message).toContain('no_service');
    expect(error.message).toContain('alarms.channels.ops.webhookUrl');
    expect(error.message).not.toContain('XyZsecretToken123');
  });

  it('does not follow a redirect, and hides the secret path in the message', async () => {
    receiver.respondWith({ status: 302, headers: { location: `${secretPath}/moved` } });
    const error = await deliveryFailure(notifier().send(message(), sendContext()));
    expect(error.permanent).toBe(true);
    expect(error.statusCode).toBe(302);
    expect(error.message).toContain('Redirects are not followed');
    expect(error.message).not.toContain('XyZsecretToken123');
    expect(receiver.requests).toHaveLength(1);
  });

  it('retries a 500 and does not leak the URL when Slack is unreachable', async () => {
    receiver.respondWith({ status: 500 });
    const error = await deliveryFailure(notifier().send(message(), sendContext()));
    expect(error.permanent).toBe(false);
    expect(error.statusCode).toBe(500);
    const port = await closedPort();
    const down = new SlackNotifier(
      { type: 'slack', webhookUrl: `http://127.0.0.1:${port}${secretPath}` },
      'ops',
      LOOPBACK,
    );
    const refused = await deliveryFailure(down.send(message(), sendContext()));
    expect(refused.permanent).toBe(false);
    expect(refused.message).toContain('ECONNREFUSED');
    expect(refused.message).toContain(`http://127.0.0.1:${port}/…`);
    expect(refused.message).not.toContain('XyZsecretToken123');
  });
});
