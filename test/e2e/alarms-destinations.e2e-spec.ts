import {
  AuditConfigurationError,
  AuditModule,
  AuditService,
  AuditStore,
  InMemoryAuditStore,
  type AuditAlarmOptions,
} from '../../src';
import { bootError } from '../utils/alarm-app';
import { eventually } from '../utils/alarm-inbox';
import { startApp, type RunningApp } from '../utils/apps';
import { HttpReceiver } from '../utils/http-receiver';
import { outboxOf } from '../utils/outbox-of';

// Channels are built by the module, not per request: the boot path is the same on both
// platforms, so Express alone is used here.
const SECRET = 'a-secret-of-16+chars';

const boot = (alarms: AuditAlarmOptions): Promise<unknown> => bootError(alarms);

describe('alarm destinations: only public addresses unless allowed', () => {
  it.each([
    ['webhook', 'url', 'http://169.254.169.254/latest/meta-data/'],
    ['webhook', 'url', 'http://10.0.0.8/hook'],
    ['webhook', 'url', 'https://192.168.1.20/hook'],
    ['webhook', 'url', 'https://[fd00::1]/hook'],
    ['webhook', 'url', 'https://[fe80::1]/hook'],
    ['webhook', 'url', 'https://[::ffff:10.0.0.1]/hook'],
    ['webhook', 'url', 'http://metadata.google.internal/computeMetadata/v1/'],
    ['slack', 'webhookUrl', 'https://127.0.0.1:9/services/T/B/x'],
    ['slack', 'webhookUrl', 'https://100.64.1.1/services/T/B/x'],
  ])('refuses a %s channel at boot with %s %s', async (type, option, url) => {
    const channel =
      type === 'webhook'
        ? { type: 'webhook' as const, url, secret: SECRET }
        : { type: 'slack' as const, webhookUrl: url };
    const error = await boot({ channels: { out: channel }, rules: [] });
    expect(error).toBeInstanceOf(AuditConfigurationError);
    expect((error as Error).message).toContain(`option "alarms.channels.out.${option}" points to`);
    expect((error as Error).message).toContain('alarms.allowPrivateNetworks');
    // Listing it is the way out the message names.
    await expect(
      boot({ channels: { out: channel }, rules: [], allowPrivateNetworks: true }),
    ).resolves.toBeUndefined();
  });

  it('rejects an allow-list entry that is no address, range or host name', async () => {
    const error = await boot({ allowPrivateNetworks: ['10.0.0.0/40'] });
    expect(error).toBeInstanceOf(AuditConfigurationError);
    expect((error as Error).message).toMatch(
      /"alarms\.allowPrivateNetworks" has an entry .*"10\.0\.0\.0\/40"/,
    );
  });

  describe('at send time, a name resolving to loopback', () => {
    let hook: HttpReceiver;
    let running: RunningApp | undefined;
    beforeEach(async () => {
      hook = await HttpReceiver.start();
    });
    afterEach(async () => {
      await running?.close();
      running = undefined;
      await hook.close();
    });

    async function raise(allowPrivateNetworks: string[]): Promise<AuditService> {
      running = await startApp('express', {
        imports: [
          AuditModule.forRoot({
            store: new InMemoryAuditStore(),
            stream: false,
            alarms: {
              channels: {
                siem: {
                  type: 'webhook',
                  url: hook.url.replace('127.0.0.1', 'localhost'),
                  secret: SECRET,
                },
              },
              rules: [{ name: 'any-void', action: 'invoice.void', channels: ['siem'] }],
              allowPrivateNetworks,
              maxAttempts: 5,
              backoff: { initialMs: 10, maxMs: 20 },
              pollIntervalMs: 20,
            },
          }),
        ],
      });
      const audit = running.app.get(AuditService);
      await audit.record({ action: 'invoice.void', target: { type: 'invoice', id: 9 } });
      return audit;
    }

    it('is refused after DNS, dead-lettered at once, and never contacted', async () => {
      // The name is listed, so boot accepts it; the loopback address it resolves to is not.
      const audit = await raise(['localhost']);
      const store = running!.app.get(AuditStore);
      await eventually(
        async () => (await outboxOf(store).list({ status: 'dead' })).length === 1,
        'the refused alarm to be dead-lettered',
      );
      const [dead] = await audit.listAlarms({ status: 'dead' });
      expect(dead).toMatchObject({ channel: 'siem', attempts: 1 });
      expect(dead?.lastError).toMatch(/localhost resolves to .*loopback/);
      expect(dead?.lastError).toContain('alarms.allowPrivateNetworks');
      expect(hook.requests).toHaveLength(0);
    });

    it('is delivered once its addresses are allowed too', async () => {
      await raise(['localhost', '127.0.0.0/8', '::1']);
      await hook.waitForRequests(1);
      expect(hook.accepted()).toHaveLength(1);
    });
  });
});
