import { Controller, Post, UnauthorizedException } from '@nestjs/common';
import { Audited, AuditStore } from '../../src';
import { startWebhookAlarmApp, type WebhookAlarmApp } from '../utils/alarm-app';
import { PLATFORMS, type RunningApp } from '../utils/apps';
import { eventually } from '../utils/alarm-inbox';
import type { HttpReceiver } from '../utils/http-receiver';
import { outboxOf } from '../utils/outbox-of';

/** Every login fails, as under a password-guessing attack. */
@Controller('session')
class SessionController {
  @Post('login')
  @Audited('session', { action: 'login' })
  login(): never {
    throw new UnauthorizedException('wrong password');
  }
}

const ATTACKER = '198.51.100.23';
/** Distinct addresses of one IPv6 /64, as one host can hold. */
const SPRAYED = 10_000;
const CAP = 100;
const PARALLEL = 32;
const DAY = 86_400_000;

interface Payload {
  kind: string;
  rule: string;
  severity: string;
  count: number;
  groupKey?: string;
  title: string;
}

describe.each(PLATFORMS)(
  'threshold alarms cannot be evaded by a spray of distinct addresses (%s)',
  (platform) => {
    let alarmApp: WebhookAlarmApp;
    let running: RunningApp;
    let hook: HttpReceiver;

    beforeAll(async () => {
      alarmApp = await startWebhookAlarmApp(platform, {
        controllers: [SessionController],
        // The test's addresses come from X-Forwarded-For, as behind a proxy.
        options: { serviceName: 'shop', trustProxy: true },
        alarms: (url) => ({
          channels: { siem: { type: 'webhook', url, secret: 'a-secret-of-16+chars' } },
          rules: [
            {
              name: 'login-failures',
              action: 'session.login',
              outcome: 'failure',
              threshold: { count: 5, window: '1d', groupBy: 'source.ip' },
              channels: ['siem'],
            },
          ],
          maxOpenWindowsPerRule: CAP,
          pollIntervalMs: 50,
        }),
      });
      ({ running, hook } = alarmApp);
    });
    afterAll(() => alarmApp?.close());

    async function failLogins(addresses: readonly string[]): Promise<void> {
      let next = 0;
      const worker = async () => {
        while (next < addresses.length) {
          const address = addresses[next] as string;
          next += 1;
          const response = await fetch(`${running.url}/session/login`, {
            method: 'POST',
            headers: { 'x-forwarded-for': address },
          });
          await response.arrayBuffer();
          expect(response.status).toBe(401);
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, worker));
    }

    const payloads = () => hook.accepted().map((r) => JSON.parse(r.body) as Payload);

    /** All the attack's failures must fall in one window: not in the minute before it turns. */
    async function clearOfWindowEnd(): Promise<void> {
      const left = DAY - (Date.now() % DAY);
      if (left < 60_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
    }

    it('4 failures, 10,000 from other addresses, 4 more: the threshold alarm and the drop alarm are delivered', async () => {
      await clearOfWindowEnd();
      await failLogins(Array.from({ length: 4 }, () => ATTACKER));
      await failLogins(
        Array.from({ length: SPRAYED }, (_, i) => `2001:db8:0:1::${i.toString(16)}`),
      );
      await failLogins(Array.from({ length: 4 }, () => ATTACKER));

      await eventually(
        () => payloads().some((p) => p.kind === 'threshold'),
        'the threshold alarm for the attacker',
      );
      await eventually(
        () => payloads().some((p) => p.kind === 'windows-dropped'),
        'the windows-dropped alarm',
      );
      const store = running.app.get(AuditStore);
      await eventually(
        async () => (await outboxOf(store).stats()).pending === 0,
        'an empty outbox',
      );

      const threshold = payloads().filter((p) => p.kind === 'threshold');
      expect(threshold.map((p) => [p.rule, p.groupKey, p.count])).toEqual([
        ['login-failures', ATTACKER, 5],
      ]);
      // The spray forced drops of open windows: one report for the window length, not thousands.
      const dropped = payloads().filter((p) => p.kind === 'windows-dropped');
      expect(dropped).toHaveLength(1);
      expect(dropped[0]).toMatchObject({
        rule: 'login-failures',
        severity: 'high',
        title: 'login-failures: 1 open threshold window dropped',
      });
      // 10,008 requests through the app: minutes on a machine whose cores are busy.
    }, 600_000);
  },
);
