import { closedPort, SmtpReceiver, startSilentServer } from '../../../test/utils/smtp-receiver';
import { betweenMarkers, settlement, turn, until } from '../../../test/utils/until';
import { Redactor, REDACTED } from '../../event/redact';
import type { AlarmChange, AlarmEventSummary, AlarmMessage } from '../../stores/alarm-message';
import type { EmailChannelConfig } from '../alarm-options';
import { createBuiltInNotifier } from './create-notifier';
import { alarmMessageId, EmailNotifier } from './email.notifier';
import { loadNodemailer } from './nodemailer-driver';
import {
  deliveryFailure,
  makeAlarmEvent,
  makeAlarmMessage,
  sendContext,
} from '../../../test/fixtures/alarm-messages';

const CANARY = 'canary-S3cr3t-9f41';

/** Changes as the pipeline hands them over: diffed, then redacted by the real Redactor. */
function redactedChanges(): AlarmChange[] {
  const diff = new Redactor(['mfa.recoveryCode']).redactDiff([
    { path: ['phone'], op: 'changed', before: '+1 555 0100', after: '+1 555 0199' },
    { path: ['password'], op: 'changed', before: 'old-password', after: CANARY },
    { path: ['mfa', 'recoveryCode'], op: 'added', after: CANARY },
  ]);
  return diff.map((change) => ({
    field: change.path.join('.'),
    op: change.op,
    ...(change.before === undefined ? {} : { before: change.before as string }),
    ...(change.after === undefined ? {} : { after: change.after as string }),
  }));
}

function event(overrides: Partial<AlarmEventSummary> = {}): AlarmEventSummary {
  return makeAlarmEvent({
    actor: { type: 'user', id: '7', name: 'Ada <b>Lovelace</b>', email: 'ada@acme.test' },
    sourceIp: '203.0.113.7',
    changes: redactedChanges(),
    text: 'ada@acme.test changed user 42',
    ...overrides,
  });
}

function message(overrides: Partial<AlarmMessage> = {}): AlarmMessage {
  return makeAlarmMessage({
    text: 'ada@acme.test changed user 42',
    events: [event()],
    ...overrides,
  });
}

describe('EmailNotifier', () => {
  let smtp: SmtpReceiver;
  let notifier: EmailNotifier;
  const config = (): EmailChannelConfig => ({
    type: 'email',
    transport: smtp.url,
    from: 'Audit <audit@acme.test>',
    to: ['security@acme.test', 'Ops Team <ops@acme.test>'],
    cc: 'cfo@acme.test',
  });

  beforeEach(async () => {
    smtp = await SmtpReceiver.start();
    notifier = createBuiltInNotifier('security', config()) as EmailNotifier;
  });

  afterEach(async () => {
    await notifier.close();
    await smtp.close();
  });

  it('sends the subject, recipients and alarm headers', async () => {
    await notifier.send(message(), sendContext());
    const [mail] = await smtp.waitForMessages(1);
    expect(mail?.subject).toBe('[HIGH] MFA phone changed for user 42');
    expect(mail?.envelope.from).toBe('audit@acme.test');
    expect(mail?.envelope.to.sort()).toEqual([
      'cfo@acme.test',
      'ops@acme.test',
      'security@acme.test',
    ]);
    expect(mail?.headers.to).toContain('security@acme.test');
    expect(mail?.headers.cc).toBe('cfo@acme.test');
    expect(mail?.headers['x-audit-alarm-id']).toBe('mfa-phone-changed:security:evt-1');
    expect(mail?.headers['auto-submitted']).toBe('auto-generated');
    expect(mail?.headers['message-id']).toBe(
      alarmMessageId('mfa-phone-changed:security:evt-1', 'audit@acme.test'),
    );
    expect(mail?.headers['message-id']).toMatch(/^<audit-alarm\.[0-9a-f]{40}@acme\.test>$/);
  });

  it('keeps the Message-ID of an alarm across retries, and distinct between alarms', async () => {
    await notifier.send(message(), sendContext());
    await notifier.send(message(), sendContext());
    await notifier.send(message({ id: 'other-alarm' }), sendContext());
    const mails = await smtp.waitForMessages(3);
    expect(mails[0]?.headers['message-id']).toBe(mails[1]?.headers['message-id']);
    expect(mails[2]?.headers['message-id']).not.toBe(mails[0]?.headers['message-id']);
  });

  it('writes who, what changed and when in the text body', async () => {
    await notifier.send(message(), sendContext());
    const [mail] = await smtp.waitForMessages(1);
    const text = mail?.text ?? '';
    expect(text).toContain('ada@acme.test changed user 42');
    expect(text).toContain('When: 2026-03-14 10:02:05 UTC');
    expect(text).toContain('Who:  Ada <b>Lovelace</b> <ada@acme.test> (id 7), from 203.0.113.7');
    expect(text).toContain('What: user.update on user 42');
    expect(text).toContain('  - Phone: +1 555 0100 → +1 555 0199');
    expect(text).toContain('  - Password: [redacted] → [redacted]');
    expect(text).toContain('  - Mfa › recovery code: added, now [redacted]');
    expect(text).toContain('Severity: high · Rule: mfa-phone-changed · Service: billing');
    expect(text).not.toContain('Open in the audit viewer');
  });

  it('keeps the subject one line and user values on their own line of the text body', async () => {
    const forged = 'Mallory\r\nSECURITY TEAM: false alarm\u2028Bcc: x@evil.test\u0085end';
    await notifier.send(
      message({
        title: `Phone changed by ${forged}`,
        events: [
          makeAlarmEvent({
            actor: { type: 'user', id: '9', name: forged },
            target: { type: 'user', id: '42\nWhat: nothing' },
          }),
        ],
      }),
      sendContext(),
    );
    const [mail] = await smtp.waitForMessages(1);
    expect(mail?.subject).toBe(
      '[HIGH] Phone changed by Mallory SECURITY TEAM: false alarm\\u2028Bcc: x@evil.test\\u0085end',
    );
    expect(mail?.headers.bcc).toBeUndefined();
    const lines = (mail?.text ?? '').split(/\r?\n/);
    expect(lines).toContain(
      'Who:  Mallory SECURITY TEAM: false alarm\\u2028Bcc: x@evil.test\\u0085end (id 9)',
    );
    expect(lines).toContain('What: user.update on user 42 What: nothing');
    expect(lines.filter((line) => line.startsWith('SECURITY TEAM'))).toHaveLength(0);
    expect(lines.filter((line) => line.startsWith('What:'))).toHaveLength(1);
  });

  it('writes an escaped HTML body with inline styles only', async () => {
    await notifier.send(
      message({ title: 'Phone changed <script>alert(1)</script>' }),
      sendContext(),
    );
    const [mail] = await smtp.waitForMessages(1);
    const html = mail?.html ?? '';
    expect(html).toContain('Ada &lt;b&gt;Lovelace&lt;/b&gt;');
    expect(html).toContain('Phone changed &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>');
    expect(html).not.toMatch(/<style|<link/i);
    expect(html).toContain('<li style="margin:0 0 2px 0;">Phone: +1 555 0100 → +1 555 0199</li>');
    expect(html).toContain('HIGH</span>');
  });

  it('never shows a redacted secret, nor the raw redaction marker', async () => {
    await notifier.send(message(), sendContext());
    const [mail] = await smtp.waitForMessages(1);
    expect(mail?.raw).not.toContain(CANARY);
    expect(mail?.text).not.toContain(CANARY);
    expect(mail?.html).not.toContain(CANARY);
    expect(mail?.text).not.toContain(REDACTED);
    expect(mail?.html).not.toContain(REDACTED);
    expect(mail?.html).toContain('[redacted]');
  });

  it('renders a digest: the count, the span and the first events, numbered', async () => {
    const events = Array.from({ length: 10 }, (_, i) =>
      event({
        id: `evt-${i}`,
        timestamp: `2026-03-14T10:${String(2 + i).padStart(2, '0')}:00.000Z`,
        target: { type: 'invoice', id: `INV-${100 + i}` },
        action: 'invoice.void',
        changes: [],
        text: `Invoice INV-${100 + i} voided`,
      }),
    );
    await notifier.send(
      message({
        kind: 'digest',
        severity: 'medium',
        title: 'Invoices voided',
        text: 'Invoices were voided',
        count: 37,
        events,
        firstAt: '2026-03-14T10:02:00.000Z',
        lastAt: '2026-03-14T10:11:30.000Z',
      }),
      sendContext(),
    );
    const [mail] = await smtp.waitForMessages(1);
    expect(mail?.subject).toBe('Invoices voided (37 events)');
    const text = mail?.text ?? '';
    expect(text).toContain('37 events between 10:02 and 10:11 UTC; the first 10:');
    expect(text).toContain('1. 2026-03-14 10:02:00 UTC');
    expect(text).toContain('10. 2026-03-14 10:11:00 UTC');
    expect(text).toContain('   What: invoice.void on invoice INV-109');
    expect(text).toContain('37 events, first 10 listed');
    expect(mail?.html).toContain('37 events between 10:02 and 10:11 UTC; the first 10:');
  });

  it('links to the viewer when the message has a URL', async () => {
    const url = 'https://admin.acme.test/audit/?id=evt-1&x=1';
    await notifier.send(message({ url, severity: 'critical' }), sendContext());
    const [mail] = await smtp.waitForMessages(1);
    expect(mail?.subject.startsWith('[CRITICAL] ')).toBe(true);
    expect(mail?.text).toContain(`Open in the audit viewer: ${url}`);
    expect(mail?.html).toContain('href="https://admin.acme.test/audit/?id=evt-1&amp;x=1"');
    expect(mail?.html).toContain('Open in audit viewer</a>');
  });

  it('offers the link once when the single event links to the same page as the message', async () => {
    const url = 'https://admin.acme.test/audit/view/events/evt-1';
    await notifier.send(message({ url, events: [{ ...event(), url }] }), sendContext());
    const [mail] = await smtp.waitForMessages(1);
    expect(mail?.text?.split(url)).toHaveLength(2);
    expect(mail?.text).not.toContain('Open this event');
    expect(
      mail?.html?.split('href="https://admin.acme.test/audit/view/events/evt-1"'),
    ).toHaveLength(2);
  });

  it('retries after a 4xx reply, and the next attempt goes through', async () => {
    smtp.failNext(1, { stage: 'data', code: 451, message: 'Local problem, try later' });
    const error = await deliveryFailure(notifier.send(message(), sendContext()));
    expect(error.permanent).toBe(false);
    expect(error.statusCode).toBe(451);
    expect(error.message).toContain('451 Local problem, try later');
    expect(error.message).toContain('will be retried');
    await notifier.send(message(), sendContext());
    expect(await smtp.waitForMessages(1)).toHaveLength(1);
  });

  it('gives up at once when the recipients are refused with 5xx', async () => {
    smtp.failNext(1, { stage: 'rcpt', code: 550, message: 'No such user' });
    const error = await deliveryFailure(notifier.send(message(), sendContext()));
    expect(error.permanent).toBe(true);
    expect(error.statusCode).toBe(550);
    expect(error.message).toContain('No such user');
    expect(error.message).toContain('alarms.channels.security.from and .to');
    expect(smtp.messages).toHaveLength(0);
  });

  it('gives up at once when the content is refused with 5xx', async () => {
    smtp.failNext(1, { stage: 'data', code: 554, message: 'Message rejected as spam' });
    const error = await deliveryFailure(notifier.send(message(), sendContext()));
    expect(error.permanent).toBe(true);
    expect(error.statusCode).toBe(554);
  });

  it('retries when the server is down, without leaking the SMTP password', async () => {
    const port = await closedPort();
    const down = new EmailNotifier(
      {
        type: 'email',
        transport: `smtp://user:hunter2-pass@127.0.0.1:${port}`,
        from: 'a@acme.test',
        to: 'b@acme.test',
      },
      'security',
    );
    const error = await deliveryFailure(down.send(message(), sendContext()));
    await down.close();
    expect(error.permanent).toBe(false);
    expect(error.statusCode).toBeUndefined();
    expect(error.message).toContain(`E-mail channel "security" (smtp://127.0.0.1:${port})`);
    expect(error.message).toContain('will be retried');
    expect(error.message).not.toContain('hunter2');
  });

  it('times out within timeoutMs against a server that never answers', async () => {
    const silent = await startSilentServer();
    const slow = new EmailNotifier(
      {
        type: 'email',
        transport: { host: '127.0.0.1', port: silent.port },
        from: 'a@acme.test',
        to: 'b@acme.test',
        timeoutMs: 300,
      },
      'security',
    );
    try {
      const { value: error, order } = await betweenMarkers(
        299,
        () => deliveryFailure(slow.send(message(), sendContext(300))),
        2000,
      );
      // Not before its timeout, and on it rather than on a longer timer (nodemailer's own
      // greeting timeout is 30 s).
      expect(order).toEqual({ early: true, late: false });
      expect(error.permanent).toBe(false);
      expect(error.message).toContain('did not complete within 300 ms');
      // The server took the connection and never said a word; the client is the one that hung up.
      await until(() => silent.closedByClient === 1);
      expect(silent.connections).toBe(1);
    } finally {
      await slow.close();
      await silent.close();
    }
  });

  it('stops when the dispatcher aborts the attempt (shutdown)', async () => {
    // Everything else waits an hour: only the abort can end this attempt.
    const HOUR = 3_600_000;
    smtp.delay(HOUR);
    const held = new EmailNotifier({ ...config(), timeoutMs: HOUR }, 'security');
    try {
      const controller = new AbortController();
      const sending = deliveryFailure(held.send(message(), sendContext(HOUR, controller.signal)));
      const watched = settlement(sending);
      // The server has the whole message and sits on it.
      await until(() => smtp.held === 1);
      controller.abort(new Error('application shutdown'));
      // At once: within the turn of the event loop that aborted it.
      await turn();
      expect(watched.settled).toBe(true);
      const error = await sending;
      expect(error.permanent).toBe(false);
      expect(error.message).toContain('was cancelled');
      expect(smtp.messages).toHaveLength(0);
    } finally {
      await held.close();
      smtp.delay(0);
    }
  });

  it('ends the attempt at timeoutMs even with a nodemailer that ignores the signal', async () => {
    const real = loadNodemailer();
    // Nodemailer before 10 has no `signal` option: the real one, with the option left out.
    const legacy = {
      createTransport: (options: Record<string, unknown>) => {
        const transporter = real.createTransport(options);
        return {
          sendMail: ({ signal: _ignored, ...mail }: Record<string, unknown>) =>
            transporter.sendMail(mail),
          close: () => transporter.close(),
        };
      },
    };
    // The server holds the message for an hour and nodemailer's own timeouts are an hour too:
    // only the notifier's timeout of the attempt (300 ms) can end it.
    smtp.delay(3_600_000);
    const old = new EmailNotifier({ ...config(), timeoutMs: 3_600_000 }, 'security', legacy);
    try {
      const { value: error, order } = await betweenMarkers(
        299,
        () => deliveryFailure(old.send(message(), sendContext(300))),
        2000,
      );
      expect(order).toEqual({ early: true, late: false });
      expect(error.permanent).toBe(false);
      expect(error.message).toContain('did not complete within 300 ms');
      expect(smtp.messages).toHaveLength(0);
    } finally {
      await old.close();
      smtp.delay(0);
    }
  });

  it('explains how to install nodemailer when it is missing', () => {
    const missing = (id: string) => {
      const error = new Error(
        `Cannot find module '${id}'\nRequire stack:\n- /app/x.js`,
      ) as Error & {
        code: string;
      };
      error.code = 'MODULE_NOT_FOUND';
      throw error;
    };
    expect(() => loadNodemailer(missing)).toThrow(/npm install nodemailer/);
    // A dependency of nodemailer missing is a broken install, not "install nodemailer".
    const broken = () => missing('punycode-x');
    expect(() => loadNodemailer(broken)).toThrow(/installed but could not be loaded/);
    expect(() => loadNodemailer(() => ({}))).toThrow(/did not export createTransport/);
  });

  it('loads the real nodemailer by default', () => {
    expect(typeof loadNodemailer().createTransport).toBe('function');
  });
});
