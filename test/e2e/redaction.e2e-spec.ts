import { Body, Controller, Param, Post, Query } from '@nestjs/common';
import request from 'supertest';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Audited, AuditModule, AuditService } from '../../src';
import { PLATFORMS, startApp, tempDir } from '../utils/apps';

const canaries: string[] = [];
/** A unique secret value whose presence anywhere in the trail is a leak. */
function canary(): string {
  const value = `CANARY${randomUUID().replace(/-/g, '')}`;
  canaries.push(value);
  return value;
}

const storedState = new Map<string, unknown>();

@Controller('vault')
class VaultController {
  constructor(private readonly audit: AuditService) {}

  @Post(':id')
  @Audited('vault', {
    action: 'update',
    captureBody: true,
    captureResult: true,
    load: (id: string) => storedState.get(id),
    redact: ['pinCode'],
  })
  update(
    @Param('id') id: string,
    @Body() body: Record<string, unknown>,
    @Query() query: Record<string, unknown>,
  ): unknown {
    this.audit.current()?.setFilter(query);
    storedState.set(id, body);
    return { ...body, echoed: true };
  }
}

@Controller('password-reset')
class ResetController {
  @Post(':token')
  @Audited('reset', { action: 'update', captureBody: true })
  reset(@Param('token') token: string, @Body() body: { note?: string; fail?: string }): unknown {
    if (body.fail !== undefined) throw new Error(`upstream refused ${body.fail}`);
    return { ok: token.length > 0 };
  }
}

function leaks(haystack: Buffer): string[] {
  const text = haystack.toString('latin1');
  return canaries.filter(
    (c) =>
      text.includes(c) ||
      text.includes(Buffer.from(c).toString('base64')) ||
      text.includes(Buffer.from(c).toString('base64url')) ||
      text.includes(Buffer.from(c).toString('base64').slice(0, 24)),
  );
}

describe.each(PLATFORMS)('redaction canaries on %s', (platform) => {
  it('finds no planted secret (nor its base64) in the SQLite files or the ECS stream', async () => {
    const tmp = tempDir();
    const db = join(tmp.dir, 'audit.db');
    const stream = join(tmp.dir, 'audit.ndjson');
    const running = await startApp(platform, {
      imports: [AuditModule.forRoot({ store: db, stream, redact: ['ssnNumber'] })],
      controllers: [VaultController],
    });
    const id = 'v1';
    storedState.set(id, {
      owner: 'ann',
      apiKey: canary(),
      keys: [
        { privateKey: canary(), label: 'main' },
        { label: 'backup', secret: canary() },
      ],
      card: { cardNumber: canary(), cvv: canary(), holder: 'ANN' },
    });
    const body = {
      owner: 'ann',
      password: canary(),
      profile: { ssn: canary(), ssnNumber: canary(), pinCode: canary() },
      devices: [[{ refresh_token: canary() }], [{ 'X-Api-Key': canary() }]],
      card: { creditCard: canary(), holder: 'ANN' },
      Authorization: `Bearer ${canary()}`,
    };
    const res = await request(running.url)
      .post(`/vault/${id}?access_token=${canary()}&client_secret=${canary()}`)
      .set('authorization', `Bearer ${canary()}`)
      .set('cookie', `session=${canary()}`)
      .set('x-api-key', canary())
      .set('proxy-authorization', `Basic ${Buffer.from(`u:${canary()}`).toString('base64')}`)
      .send(body)
      .expect(201);
    expect(res.body.echoed).toBe(true);
    const audit = running.app.get(AuditService);
    const event = (await audit.query({ resourceType: 'vault' })).items[0]!;
    // The redacted fields that changed still show as changed.
    expect(event.changes?.fields).toEqual(
      expect.arrayContaining(['password', 'apiKey', 'profile', 'keys']),
    );
    expect(event.filter).toEqual({ access_token: '[REDACTED]', client_secret: '[REDACTED]' });
    await running.close();
    try {
      const files = [db, `${db}-wal`, stream].filter((f) => existsSync(f));
      expect(files).toContain(db);
      for (const file of files)
        expect({ file, leaks: leaks(readFileSync(file)) }).toEqual({ file, leaks: [] });
      expect(readFileSync(stream, 'utf8')).toContain('[REDACTED]');
    } finally {
      tmp.cleanup();
    }
  });

  it('finds no secret by shape, in a path parameter or an error message, keeps the controls', async () => {
    const tmp = tempDir();
    const db = join(tmp.dir, 'audit.db');
    const stream = join(tmp.dir, 'audit.ndjson');
    const running = await startApp(platform, {
      imports: [AuditModule.forRoot({ store: db, stream })],
      controllers: [ResetController],
    });
    const control = `CONTROL${randomUUID().replace(/-/g, '')}`;
    const jwt = `eyJhbGciOiJIUzI1NiJ9.eyJ${canary()}.${canary()}`;
    const note =
      `${control} Bearer ${canary()} dsn postgres://app:${canary()}@db:5432/x ${jwt} ` +
      `AKIA${canary().slice(6, 22).toUpperCase()} card 4111 1111 1111 1111`;
    const token = canary();
    await request(running.url)
      .post(`/password-reset/${token}`)
      .send({ note, passphrase: canary(), otpCode: canary(), mfaSeed: canary(), pw: canary() })
      .expect(201);
    await request(running.url)
      .post(`/password-reset/${canary()}`)
      .send({ fail: `postgres://svc:${canary()}@db/x` })
      .expect(500);
    await running.close();
    try {
      const files = [db, `${db}-wal`, stream].filter((f) => existsSync(f));
      for (const file of files) {
        expect({ file, leaks: leaks(readFileSync(file)) }).toEqual({ file, leaks: [] });
      }
      const ecs = readFileSync(stream, 'utf8');
      expect(ecs).toContain(control);
      expect(ecs).toContain('/password-reset/:token');
      expect(ecs).toContain('/password-reset/%5BREDACTED%5D');
      expect(ecs).not.toContain('4111 1111 1111 1111');
    } finally {
      tmp.cleanup();
    }
  });
});
