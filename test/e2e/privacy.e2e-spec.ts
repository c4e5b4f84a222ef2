import { Body, Controller, Param, Patch } from '@nestjs/common';
import request from 'supertest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditService, Audited, type AuditEvent } from '../../src';
import { PLATFORMS, tempDir } from '../utils/apps';
import {
  ADMIN_HEADERS,
  AdminHeaderGuard,
  AUDITOR,
  auditApiApp,
  startApiApp,
} from '../utils/api-app';

const KEY = 'an e2e key that is at least 32 bytes long';
const USER = { id: 'user-raw-4711', email: 'Ann.Raw@Example.com', name: 'Ann Rawname' };
const CLIENT_IP = '203.0.113.77';
const PHONES = ['+33 6 11 22 33 44', '+33 6 55 66 77 88'];

/** Every raw value that must appear in no sink. */
const RAW = [
  USER.id,
  USER.email,
  USER.email.toLowerCase(),
  USER.name,
  AUDITOR.id,
  AUDITOR.name,
  CLIENT_IP,
  ...PHONES,
];

const profiles = new Map<string, Record<string, unknown>>();

@Controller('profiles')
class ProfilesController {
  @Patch(':id')
  @Audited('profile', {
    action: 'update',
    captureBody: true,
    captureResult: true,
    load: (id: string) => profiles.get(id),
  })
  update(@Param('id') id: string, @Body() body: Record<string, unknown>): unknown {
    const next = { ...profiles.get(id), ...body };
    profiles.set(id, next);
    return next;
  }
}

function leaks(text: string): string[] {
  return RAW.filter((raw) => text.includes(raw));
}

describe.each(PLATFORMS)('privacy options on %s', (platform) => {
  it('keeps raw actor ids, e-mails, names, IPs and hashed fields out of every sink', async () => {
    const tmp = tempDir();
    const db = join(tmp.dir, 'audit.db');
    const stream = join(tmp.dir, 'audit.ndjson');
    profiles.set('p1', { city: 'Lyon', phone: '+33 6 00 00 00 00' });
    const running = await startApiApp(platform, {
      ...auditApiApp(
        {
          store: db,
          stream,
          trustProxy: true,
          actor: (req) =>
            (req as { user?: typeof AUDITOR }).user ?? {
              id: req.headers['x-user-id'] as string,
              email: req.headers['x-user-email'] as string,
              name: req.headers['x-user-name'] as string,
            },
          privacy: { key: KEY, pseudonymize: true, truncateIp: true, hashFields: ['phone'] },
        },
        { guard: AdminHeaderGuard },
      ),
      controllers: [ProfilesController],
    });
    try {
      for (const phone of PHONES) {
        await request(running.url)
          .patch('/profiles/p1')
          .set('x-user-id', USER.id)
          .set('x-user-email', USER.email)
          .set('x-user-name', USER.name)
          .set('x-forwarded-for', CLIENT_IP)
          .send({ phone, city: 'Lyon' })
          .expect(200);
      }
      const audit = running.app.get(AuditService);
      const pseudonym = audit.pseudonymOf(USER.id);
      expect(pseudonym).toMatch(/^hmac:[A-Za-z0-9_-]{22}$/);

      // The application asks by the id it knows, or by the pseudonym it was shown.
      const byRawId = await audit.query({ actorId: USER.id });
      expect(byRawId.items.map((e) => e.action)).toEqual(['profile.update', 'profile.update']);
      expect((await audit.query({ actorId: pseudonym })).items).toHaveLength(2);
      const [second, first] = byRawId.items as [AuditEvent, AuditEvent];
      // The same person in two requests: the same pseudonyms.
      expect(first.actor).toEqual(second.actor);
      expect(first.actor).toMatchObject({ id: pseudonym, type: 'user', authenticated: true });
      expect(first.actor.email).toMatch(/^hmac:/);
      expect(first.actor.name).toMatch(/^hmac:/);
      expect(first.source?.ip).toBe('203.0.113.0');
      // A hashed field that changed still shows as changed, by its hashes.
      expect(second.changes?.fields).toEqual(['phone']);
      const diff = second.changes?.diff[0];
      expect(diff?.before).toMatch(/^hash:/);
      expect(diff?.after).toMatch(/^hash:/);
      expect(diff?.before).not.toBe(diff?.after);
      expect((first.changes?.after as Record<string, unknown>).phone).toBe(diff?.before);

      const api = await request(running.url)
        .get(`/audit/events?actor=${encodeURIComponent(USER.id)}`)
        .set(ADMIN_HEADERS)
        .expect(200);
      const items = (api.body as { items: AuditEvent[] }).items;
      expect(items.map((e) => e.actor.id)).toEqual([pseudonym, pseudonym]);
      expect(leaks(api.text)).toEqual([]);
    } finally {
      await running.close();
    }
    try {
      const files = [db, `${db}-wal`, stream].filter((f) => existsSync(f));
      expect(files).toContain(db);
      // The stream really holds the events (and the API read), so its check is not vacuous.
      const lines = readFileSync(stream, 'utf8').trim().split('\n');
      expect(lines.filter((l) => l.includes('"profile.update"'))).toHaveLength(2);
      expect(lines.some((l) => l.includes('"audit.read"'))).toBe(true);
      for (const file of files) {
        expect({ file, leaks: leaks(readFileSync(file).toString('latin1')) }).toEqual({
          file,
          leaks: [],
        });
      }
    } finally {
      tmp.cleanup();
    }
  });
});
