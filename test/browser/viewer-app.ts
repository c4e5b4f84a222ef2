import {
  ForbiddenException,
  Injectable,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import request from 'supertest';
import { AuditModule, AuditService, type AuditRecordInput } from '../../src';
import { join } from 'node:path';
import { startApp, tempDir, type Platform, type RunningApp } from '../utils/apps';
import { asUser, fixtureApp } from '../utils/users-app';

/** The person reading the trail in the tests (the fixture guard turns this into `req.user`). */
export const READER = { sub: 'aud-7', username: 'Olivia Reed', roles: 'auditor' };

/** Lets only users with the `auditor` role in, as an application's own guard would. */
@Injectable()
class AuditorGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ user?: { roles?: unknown } }>();
    const roles = req.user?.roles;
    if (typeof roles === 'string' && roles.split(',').includes('auditor')) return true;
    throw new ForbiddenException('Only auditors may read the audit trail');
  }
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

const STAFF = {
  sam: { id: 'u-17', name: 'Sam Lee', email: 'sam.lee@example.com', roles: ['support'] },
  priya: { id: 'u-23', name: 'Priya Nair', email: 'priya.nair@example.com', roles: ['billing'] },
  jon: { id: 'u-31', name: 'Jon Baptiste', email: 'jon.b@example.com', roles: ['admin'] },
  billing: { type: 'service' as const, id: 'billing-job', name: 'billing-job' },
};

const OFFICE = {
  ip: '10.20.1.14',
  userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/141.0',
};

/** Values a hostile client could have put into an event. */
export const HOSTILE = {
  actorId: 'evil-1',
  name: '<script>alert("actor")</script>',
  message: "Robert'); DROP TABLE users;-- <img src=x onerror=alert(1)> \u202Egnp.exe\u0007",
  targetId: '"><svg onload=alert(2)>',
  note: `${'long '.repeat(1200)}end`,
};

/** Backfilled history: several people over ten days, enough for more than one page. */
function backfill(now: number): AuditRecordInput[] {
  const entries: AuditRecordInput[] = [];
  const at = (ms: number) => new Date(now - ms).toISOString();
  for (let i = 0; i < 48; i += 1) {
    const order = String(1040 + i);
    entries.push({
      action: 'order.update',
      actor: i % 3 === 0 ? STAFF.billing : i % 2 === 0 ? STAFF.priya : STAFF.sam,
      target: { type: 'order', id: order },
      before: { status: 'pending', total: 120 + i },
      after: { status: i % 4 === 0 ? 'refunded' : 'shipped', total: 120 + i },
      timestamp: at(3 * HOUR + i * 4.5 * HOUR),
      source: OFFICE,
    });
  }
  entries.push(
    {
      action: 'user.update',
      actor: STAFF.sam,
      target: { type: 'user', id: '7' },
      message: 'Customer asked to change the e-mail address',
      before: { email: 'alice@old-mail.example' },
      after: { email: 'alice.martin@example.com' },
      timestamp: at(2 * DAY),
      source: OFFICE,
    },
    {
      action: 'invoice.void',
      actor: STAFF.priya,
      target: { type: 'invoice', id: 'INV-2291' },
      message: 'Duplicate invoice',
      before: { status: 'open', amount: 310 },
      after: { status: 'void', amount: 310 },
      timestamp: at(26 * HOUR),
      source: OFFICE,
    },
    {
      action: 'user.login',
      actor: { id: 'u-17', name: 'Sam Lee' },
      outcome: 'failure',
      error: Object.assign(new Error('Wrong one-time code'), { name: 'UnauthorizedException' }),
      timestamp: at(5 * HOUR),
      source: { ip: '203.0.113.9', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/139.0' },
    },
    {
      action: 'role.assign',
      actor: STAFF.jon,
      target: { type: 'user', id: '23' },
      before: { roles: ['support'] },
      after: { roles: ['support', 'billing'] },
      timestamp: at(2 * HOUR),
      source: OFFICE,
    },
    {
      action: 'api-keys.create',
      actor: STAFF.jon,
      target: { type: 'api-key', id: 'k-88' },
      after: { label: 'Warehouse sync', secret: 'sk_live_never_shown', scopes: ['orders:read'] },
      timestamp: at(90 * 60_000),
      source: OFFICE,
    },
    {
      action: 'note.create',
      actor: { id: HOSTILE.actorId, name: HOSTILE.name },
      target: { type: 'note', id: HOSTILE.targetId },
      message: HOSTILE.message,
      after: { text: HOSTILE.note, [HOSTILE.name]: 'key' },
      timestamp: at(9 * DAY),
    },
  );
  return entries;
}

/** A running app with the viewer mounted at /audit and a realistic, partly hostile trail. */
export interface ViewerApp extends RunningApp {
  audit: AuditService;
  /** Id of Alice's user record. */
  aliceId: string;
}

/**
 * Starts the fixture users app with the viewer on `platform`, then records history: backfilled
 * events through `AuditService.record`, and real HTTP requests (create Alice, change her phone
 * with the phone redacted, change her MFA phone) through the interceptor.
 */
export async function startViewerApp(platform: Platform): Promise<ViewerApp> {
  const tmp = tempDir('nestjs-audit-viewer-');
  const running = await startApp(platform, {
    imports: [
      AuditModule.forRoot({
        store: join(tmp.dir, 'audit.db'),
        stream: false,
        trustRequestId: true,
        serviceName: 'shop',
        api: { path: 'audit', guard: AuditorGuard },
      }),
    ],
    controllers: fixtureApp.controllers,
    providers: [...fixtureApp.providers, AuditorGuard],
  });
  const audit = running.app.get(AuditService);
  for (const entry of backfill(Date.now())) await audit.record(entry);
  const sam = asUser({
    sub: 'u-17',
    username: 'Sam Lee',
    email: 'sam.lee@example.com',
    roles: 'support',
  });
  const created = await request(running.url)
    .post('/users')
    .set(sam)
    .send({
      name: 'Alice Martin',
      email: 'alice.martin@example.com',
      phone: '+1 555 0100',
      mfa: { enabled: false, phone: '+1 555 0100' },
    })
    .expect(201);
  const aliceId = (created.body as { id: string }).id;
  await request(running.url)
    .put(`/users/${aliceId}`)
    .set(sam)
    .send({ phone: '+1 555 0177' })
    .expect(200);
  await request(running.url)
    .patch(`/users/${aliceId}/mfa`)
    .set(asUser({ sub: 'u-23', username: 'Priya Nair', roles: 'billing' }))
    .set('x-request-id', 'req-mfa-0042')
    .send({ phone: '+1 555 0199' })
    .expect(200);
  return {
    ...running,
    audit,
    aliceId,
    async close() {
      await running.close();
      tmp.cleanup();
    },
  };
}
