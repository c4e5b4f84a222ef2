import { AuditConfigurationError } from '../../common/audit-configuration.error';
import type { AlarmMessage } from '../../stores/alarm-message';
import { AlarmNotifier } from './alarm-notifier';
import {
  createBuiltInNotifier,
  isBuiltInChannelConfig,
  isCustomNotifier,
  validateChannelConfig,
} from './create-notifier';
import { destinationPolicy, type DestinationPolicy } from './destination-guard';
import { isValidEmailAddress } from './email-address';
import { EmailNotifier } from './email.notifier';
import { SlackNotifier } from './slack.notifier';
import { WebhookNotifier } from './webhook.notifier';

class PagerNotifier extends AlarmNotifier {
  readonly sent: AlarmMessage[] = [];
  send(message: AlarmMessage): Promise<void> {
    this.sent.push(message);
    return Promise.resolve();
  }
}

const email = {
  type: 'email',
  transport: 'smtp://mail.acme.test:587',
  from: 'Audit <audit@acme.test>',
  to: 'security@acme.test',
};
const slack = { type: 'slack', webhookUrl: 'https://hooks.slack.com/services/T0/B0/secretXYZ' };
const webhook = { type: 'webhook', url: 'https://erp.acme.test/hooks', secret: '0123456789abcdef' };

function messageOf(name: string, config: unknown): string {
  try {
    validateChannelConfig(name, config);
  } catch (error) {
    expect(error).toBeInstanceOf(AuditConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

describe('validateChannelConfig: destinations', () => {
  it.each([
    ['http://169.254.169.254/latest/meta-data', 'link-local / cloud metadata (169.254.0.0/16)'],
    ['http://10.1.2.3/h', 'private (10.0.0.0/8)'],
    ['https://192.168.1.1/h', 'private (192.168.0.0/16)'],
    ['https://[fd00::1]/h', 'unique-local (fc00::/7)'],
    ['https://[fe80::1]/h', 'link-local (fe80::/10)'],
    ['https://[::ffff:10.0.0.1]/h', 'private (10.0.0.0/8)'],
    ['http://127.0.0.1:9/h', 'loopback (127.0.0.0/8)'],
    ['http://localhost:9/h', 'internal host name'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'internal host name'],
  ])('refuses %s at boot, naming the option that allows it', (url, range) => {
    expect(() => validateChannelConfig('erp', { ...webhook, url })).toThrow(
      new RegExp(
        `option "alarms\\.channels\\.erp\\.url" points to .*a non-public destination \\(${range.replace(/[()./]/g, '\\$&')}\\).*alarms\\.allowPrivateNetworks: \\[`,
      ),
    );
    expect(() =>
      validateChannelConfig('ops', { type: 'slack', webhookUrl: url.replace('http:', 'https:') }),
    ).toThrow(/alarms\.channels\.ops\.webhookUrl" points to/);
  });

  it('accepts a listed address, range or name, and everything with true', () => {
    const url = 'http://10.20.3.4/h';
    expect(() =>
      validateChannelConfig(
        'erp',
        { ...webhook, url },
        destinationPolicy(['10.20.0.0/16']) as DestinationPolicy,
      ),
    ).not.toThrow();
    expect(() =>
      validateChannelConfig(
        'erp',
        { ...webhook, url },
        destinationPolicy(['10.21.0.0/16']) as DestinationPolicy,
      ),
    ).toThrow(/non-public/);
    expect(() =>
      validateChannelConfig(
        'erp',
        { ...webhook, url },
        destinationPolicy(true) as DestinationPolicy,
      ),
    ).not.toThrow();
  });
});

describe('validateChannelConfig', () => {
  it('accepts valid built-in configs and leaves custom notifiers alone', () => {
    expect(() => validateChannelConfig('security', email)).not.toThrow();
    expect(() =>
      validateChannelConfig('security', {
        ...email,
        transport: { host: 'mail.acme.test', port: 587, auth: { user: 'u', pass: 'p' } },
        to: ['a@acme.test', '"Doe, Jane" <jane@acme.test>', 'ops@localhost'],
        cc: 'x@acme.test, y@acme.test',
        timeoutMs: 5000,
      }),
    ).not.toThrow();
    expect(() => validateChannelConfig('ops', slack)).not.toThrow();
    const local = destinationPolicy(['127.0.0.0/8', '::1', 'localhost']) as DestinationPolicy;
    expect(() =>
      validateChannelConfig('ops', { ...slack, webhookUrl: 'http://127.0.0.1:9/x' }, local),
    ).not.toThrow();
    expect(() =>
      validateChannelConfig('ops', { ...slack, webhookUrl: 'http://localhost/x' }, local),
    ).not.toThrow();
    expect(() =>
      validateChannelConfig('ops', { ...slack, webhookUrl: 'http://[::1]:80/x' }, local),
    ).not.toThrow();
    expect(() =>
      validateChannelConfig(
        'erp',
        { ...webhook, url: 'http://erp.internal/h', headers: { Authorization: 'Bearer t' } },
        destinationPolicy(['erp.internal']) as DestinationPolicy,
      ),
    ).not.toThrow();
    expect(() => validateChannelConfig('pager', PagerNotifier)).not.toThrow();
    expect(() => validateChannelConfig('pager', new PagerNotifier())).not.toThrow();
  });

  it.each<[string, unknown, string]>([
    [
      'not an object',
      'slack',
      'option "alarms.channels.c" must be a channel object, a notifier class or an AlarmNotifier instance (got string)',
    ],
    [
      'unknown type',
      { type: 'sms' },
      'option "alarms.channels.c.type" must be "email", "slack" or "webhook" (got "sms"). For another kind of channel, pass a class extending AlarmNotifier',
    ],
    [
      'missing type',
      {},
      'option "alarms.channels.c.type" must be "email", "slack" or "webhook" (got undefined)',
    ],
    [
      'unknown key',
      { ...slack, webhookURL: 'x' },
      'option "alarms.channels.c.webhookURL" is not an option of slack channels. Known options: type, webhookUrl, timeoutMs.',
    ],
    [
      'zero timeout',
      { ...slack, timeoutMs: 0 },
      'option "alarms.channels.c.timeoutMs" must be a whole number of milliseconds from 1 to 2147483647 (got 0)',
    ],
    [
      'fractional timeout',
      { ...webhook, timeoutMs: 1.5 },
      'option "alarms.channels.c.timeoutMs" must be a whole number',
    ],
    [
      'string timeout',
      { ...email, timeoutMs: '10s' },
      'option "alarms.channels.c.timeoutMs" must be a whole number of milliseconds from 1 to 2147483647 (got "10s")',
    ],
    [
      'slack over http',
      { ...slack, webhookUrl: 'http://hooks.slack.com/services/T0/B0/secretXYZ' },
      'option "alarms.channels.c.webhookUrl" must use https:// (got http:// to http://hooks.slack.com/…)',
    ],
    [
      'slack not a URL',
      { ...slack, webhookUrl: 'hooks.slack.com/services/secretXYZ' },
      'option "alarms.channels.c.webhookUrl" is not a valid URL.',
    ],
    [
      'slack ftp',
      { ...slack, webhookUrl: 'ftp://hooks.slack.com/secretXYZ' },
      'option "alarms.channels.c.webhookUrl" must start with https:// or http:// (got "ftp:")',
    ],
    [
      'webhook URL missing',
      { type: 'webhook', secret: webhook.secret },
      'option "alarms.channels.c.url" must be a URL string (got undefined)',
    ],
    [
      'webhook bad URL',
      { ...webhook, url: 'erp/hooks' },
      'option "alarms.channels.c.url" is not a valid URL (got "erp/hooks")',
    ],
    [
      'webhook URL with credentials',
      { ...webhook, url: 'https://u:p@erp.acme.test/h' },
      'option "alarms.channels.c.url" must not contain a user name or password',
    ],
    [
      'short secret',
      { ...webhook, secret: 'short' },
      'option "alarms.channels.c.secret" is too short (5 characters; at least 16 are needed). Generate one with `openssl rand -hex 32`',
    ],
    [
      'missing secret',
      { type: 'webhook', url: webhook.url },
      'option "alarms.channels.c.secret" must be a string of at least 16 characters (got undefined)',
    ],
    [
      'reserved header',
      { ...webhook, headers: { 'X-Audit-Signature': 'x' } },
      'option "alarms.channels.c.headers.X-Audit-Signature" is set by the notifier itself and cannot be configured',
    ],
    [
      'header with newline',
      { ...webhook, headers: { 'X-Tenant': 'a\r\nX-Evil: 1' } },
      'option "alarms.channels.c.headers.X-Tenant" must be a string without line breaks',
    ],
    [
      'bad header name',
      { ...webhook, headers: { 'Bad Name': 'x' } },
      'option "alarms.channels.c.headers.Bad Name" is not a valid header name',
    ],
    ['missing from', { ...email, from: undefined }, 'option "alarms.channels.c.from" is missing'],
    [
      'bad from',
      { ...email, from: 'audit at acme' },
      'option "alarms.channels.c.from" must be one e-mail address (got "audit at acme")',
    ],
    ['missing to', { ...email, to: undefined }, 'option "alarms.channels.c.to" is missing'],
    ['empty to', { ...email, to: [] }, 'option "alarms.channels.c.to" is empty'],
    [
      'bad to',
      { ...email, to: ['ok@acme.test', 'nope@'] },
      'option "alarms.channels.c.to" contains an invalid e-mail address "nope@"',
    ],
    [
      'bad cc',
      { ...email, cc: 'a@acme.test\r\nBcc: evil@x.test' },
      'option "alarms.channels.c.cc" contains an invalid e-mail address',
    ],
    [
      'missing transport',
      { ...email, transport: undefined },
      'option "alarms.channels.c.transport" must be an SMTP URL or nodemailer SMTP options (got undefined)',
    ],
    [
      'http transport',
      { ...email, transport: 'http://user:hunter2@mail.acme.test' },
      'option "alarms.channels.c.transport" must be an smtp:// or smtps:// URL.',
    ],
    [
      'transport without server',
      { ...email, transport: { port: 25 } },
      'option "alarms.channels.c.transport" must say which server to use: "host" (with "port"), "url" or "service"',
    ],
  ])('rejects %s', (_case, config, expected) => {
    const text = messageOf('c', config);
    expect(text.startsWith('nestjs-audit: ')).toBe(true);
    expect(text).toContain(expected);
    // Secrets in URLs are never echoed.
    expect(text).not.toContain('secretXYZ');
    expect(text).not.toContain('hunter2');
  });
});

describe('isValidEmailAddress', () => {
  it.each([
    'a@b.test',
    'first.last+tag@sub.example.com',
    'Ops <ops@acme.test>',
    '"Doe, Jane" <j@acme.test>',
    'root@localhost',
    'ü@exämple.test',
  ])('accepts %s', (address) => expect(isValidEmailAddress(address)).toBe(true));
  it.each([
    '',
    'a',
    'a@',
    '@b.test',
    'a b@c.test',
    'a@b..test',
    'a@-b.test',
    'x <a@b.test',
    'a@b.test\nBcc: c@d.test',
    `${'a'.repeat(65)}@b.test`,
  ])('rejects %j', (address) => expect(isValidEmailAddress(address)).toBe(false));
});

describe('createBuiltInNotifier', () => {
  it('builds the notifier of each built-in type', async () => {
    const notifiers = [
      createBuiltInNotifier('security', email as never),
      createBuiltInNotifier('ops', slack as never),
      createBuiltInNotifier('erp', webhook as never),
    ];
    expect(notifiers[0]).toBeInstanceOf(EmailNotifier);
    expect(notifiers[1]).toBeInstanceOf(SlackNotifier);
    expect(notifiers[2]).toBeInstanceOf(WebhookNotifier);
    for (const notifier of notifiers) await notifier.close();
  });

  it('validates before building', () => {
    expect(() => createBuiltInNotifier('erp', { ...webhook, secret: 'x' } as never)).toThrow(
      AuditConfigurationError,
    );
  });

  it('tells built-in configs from custom notifiers', () => {
    expect(isBuiltInChannelConfig(email)).toBe(true);
    expect(isBuiltInChannelConfig(slack)).toBe(true);
    expect(isBuiltInChannelConfig(webhook)).toBe(true);
    expect(isBuiltInChannelConfig({ type: 'sms' })).toBe(false);
    expect(isBuiltInChannelConfig(PagerNotifier)).toBe(false);
    expect(isBuiltInChannelConfig(new PagerNotifier())).toBe(false);
    expect(isCustomNotifier(PagerNotifier)).toBe(true);
    expect(isCustomNotifier(new PagerNotifier())).toBe(true);
    expect(isCustomNotifier({ send: () => Promise.resolve() })).toBe(true);
    expect(isCustomNotifier(slack)).toBe(false);
  });
});
