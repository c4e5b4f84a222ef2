import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyAuditWebhookSignature } from '../../src';
import { HttpReceiver } from '../utils/http-receiver';
import { dropPgSchema, PG_URL, tempDir, uniquePgSchema } from './records';
import { killAllServers, SampleServer } from './sample-server';

const SECRET = 'durability-secret-0123456789';
const CHANGES = 30;

/** Creates users and changes each one's MFA phone; returns how many changes were acknowledged. */
async function changeMfaPhones(port: number, label: string): Promise<number> {
  const base = `http://127.0.0.1:${port}`;
  const headers = { 'content-type': 'application/json', authorization: 'Bearer alice' };
  let acknowledged = 0;
  for (let i = 0; i < CHANGES; i += 1) {
    const created = await fetch(`${base}/users`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: `${label}-${i}`,
        email: `u${i}@shop.test`,
        mfaPhone: '+1 555 0100',
      }),
    });
    const user = (await created.json()) as { id: string };
    const changed = await fetch(`${base}/users/${user.id}/mfa`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ mfaPhone: `+1 555 ${String(1000 + i)}` }),
    });
    await changed.arrayBuffer();
    if (changed.status === 200) acknowledged += 1;
  }
  return acknowledged;
}

describe('alarms survive kill -9 between commit and delivery', () => {
  const tmp = tempDir('alarms-kill9');
  let hook: HttpReceiver;

  beforeAll(async () => {
    hook = await HttpReceiver.start();
  });
  afterAll(async () => {
    await killAllServers();
    await hook.close();
    tmp.cleanup();
  });

  it.each([['sqlite'], ['postgres']] as const)(
    '%s: every acknowledged MFA change is alarmed exactly once after a restart',
    async (engine) => {
      const schema = uniquePgSchema('alarms');
      const store: Record<string, string> =
        engine === 'sqlite'
          ? { AUDIT_STORE: join(tmp.dir, `${engine}.db`) }
          : { AUDIT_STORE: PG_URL, AUDIT_PG_SCHEMA: schema };
      const env: Record<string, string> = {
        ...store,
        AUDIT_ALARM_WEBHOOK_URL: `${hook.url}/${engine}`,
        AUDIT_ALARM_WEBHOOK_SECRET: SECRET,
        // The receiver runs on loopback, which alarms reach only when allowed.
        AUDIT_ALARM_ALLOW_PRIVATE: '127.0.0.1',
        AUDIT_ALARM_POLL_MS: '50',
        AUDIT_ALARM_TIMEOUT_MS: '500',
        AUDIT_ALARM_LEASE_MS: '1500',
        // Each acknowledged change must arrive as its own message: no flood control here.
        AUDIT_ALARM_RATE_LIMIT: 'off',
      };
      hook.requests.length = 0;
      try {
        // The receiver hangs: attempts are in flight or waiting for a retry when the app dies.
        hook.clearScript().respondWith(...Array.from({ length: 10_000 }, () => ({ hang: true })));
        const first = await SampleServer.start({
          label: `${engine} before kill`,
          cwd: tmp.dir,
          env,
        });
        const acknowledged = await changeMfaPhones(first.port, `${engine}-a`);
        await hook.waitForRequests(1, 10_000);
        await sleep(300);
        const exit = await first.stop('SIGKILL', 5_000);
        expect(exit.signal).toBe('SIGKILL');
        expect(acknowledged).toBe(CHANGES);
        expect(hook.accepted()).toHaveLength(0);

        // The receiver recovers; a new process of the app delivers what the dead one could not.
        hook.clearScript();
        const second = await SampleServer.start({
          label: `${engine} after kill`,
          cwd: tmp.dir,
          env,
        });
        const deadline = Date.now() + 30_000;
        while (hook.accepted().length < acknowledged && Date.now() < deadline) await sleep(50);
        await sleep(2_000); // time for a duplicate to show up, if there were one
        await second.stop('SIGTERM', 10_000);

        const accepted = hook.accepted();
        const ids = accepted.map((r) => String(r.headers['x-audit-alarm-id']));
        expect(new Set(ids).size).toBe(acknowledged);
        expect(accepted).toHaveLength(acknowledged);
        for (const delivery of accepted) {
          expect(
            verifyAuditWebhookSignature({
              secret: SECRET,
              body: delivery.rawBody,
              timestamp: delivery.headers['x-audit-timestamp'],
              signature: delivery.headers['x-audit-signature'],
            }),
          ).toBe(true);
          expect(JSON.parse(delivery.body)).toMatchObject({ rule: 'mfa-phone-changed', count: 1 });
        }
      } finally {
        if (engine === 'postgres') await dropPgSchema(schema);
      }
    },
    90_000,
  );
});
