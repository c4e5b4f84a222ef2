import Database from 'better-sqlite3';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signCheckpoint } from '../../src/integrity/checkpoint';
import { SqliteAuditStore } from '../../src/stores/sqlite/sqlite-audit.store';
import { makeEvents } from '../fixtures/events';
import { Client } from 'pg';
import { PG_URL, pgSchema, runCli, seedSqlite, tempDir } from './cli-harness';

/** A copy of `file` where someone with write access changed the outcome of event #7. */
function tamperedCopy(file: string, dir: string): string {
  const copy = join(dir, 'tampered.db');
  copyFileSync(file, copy);
  const db = new Database(copy);
  try {
    db.exec('DROP TRIGGER audit_events_append_only_update');
    db.prepare(
      "UPDATE audit_events SET outcome = 'failure' WHERE rowid = (SELECT event FROM audit_payloads WHERE seq = 7)",
    ).run();
  } finally {
    db.close();
  }
  return copy;
}

describe('nestjs-audit verify (sqlite)', () => {
  const { dir, remove } = tempDir();
  const file = join(dir, 'audit.db');
  const events = makeEvents(30, (i) => ({
    timestamp: new Date(Date.UTC(2026, 2, 1) + i * 60_000).toISOString(),
  }));

  beforeAll(async () => {
    await seedSqlite(file, events);
  });

  afterAll(() => remove());

  it('says the trail is intact and exits 0', async () => {
    const run = await runCli(['--db', file, 'verify']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^intact {2}.+audit\.db: #1 to #30 verified \(30 events\), head #30 [0-9a-f]{16}…\n$/,
    );
  });

  it('prints the verification as JSON, for a range', async () => {
    const run = await runCli([
      '--db',
      file,
      'verify',
      '--from',
      '10',
      '--to',
      '20',
      '--format',
      'json',
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ intact: true, from: 10, verifiedTo: 20, events: 11 });
    expect(report.head).toMatchObject({ seq: 30, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('names the first bad sequence number and the kind, and exits 1, when tampered with', async () => {
    const copy = tamperedCopy(file, dir);
    const run = await runCli(['--db', copy, 'verify']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('TAMPERED at #7: modified');
    expect(run.stdout).toContain(`(event ${events[6]!.id})`);
    expect(run.stdout).toContain('intact before it: #1 to #6 (6 events)');
    expect(run.stderr).toMatch(
      /^nestjs-audit: the trail was tampered with: modified at #7 — .+\n$/,
    );
    const json = await runCli(['--db', copy, 'verify', '--format', 'json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      intact: false,
      verifiedTo: 6,
      break: { kind: 'modified', seq: 7, eventId: events[6]!.id },
    });
  });

  it('exits 2 when the trail cannot be checked as asked', async () => {
    for (const args of [
      ['--db', file, 'verify', '--from', '0'],
      ['--db', file, 'verify', '--from', '31'],
      ['--db', file, 'verify', '--from', '9', '--to', '3'],
      ['--db', join(dir, 'missing.db'), 'verify'],
    ]) {
      const run = await runCli(args);
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(run.stderr).toMatch(/^nestjs-audit: .+\n$/);
    }
  });
});

describe('nestjs-audit verify --checkpoints (sqlite)', () => {
  const { dir, remove } = tempDir();
  const file = join(dir, 'audit.db');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub = join(dir, 'k1.pem');
  const checkpoints = join(dir, 'checkpoints.ndjson');

  beforeAll(async () => {
    await seedSqlite(file, makeEvents(20));
    const store = new SqliteAuditStore({ path: file });
    await store.init();
    const head = await store.chainHead();
    await store.close();
    const checkpoint = signCheckpoint(
      {
        seq: head!.seq,
        hash: Buffer.from(head!.hash).toString('hex'),
        at: new Date().toISOString(),
      },
      privateKey,
      'k1',
    );
    writeFileSync(
      checkpoints,
      `${JSON.stringify({ event: { action: 'other' } })}\n${JSON.stringify(checkpoint)}\n`,
    );
    writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  });

  afterAll(() => remove());

  it('compares the chain with signed checkpoints and names a cut tail', async () => {
    const ok = await runCli([
      '--db',
      file,
      'verify',
      '--checkpoints',
      checkpoints,
      '--public-key',
      `k1=${pub}`,
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('1 checkpoints compared');
    const cut = join(dir, 'cut.db');
    copyFileSync(file, cut);
    const db = new Database(cut);
    db.exec(
      'DROP TRIGGER audit_payloads_append_only_delete; DROP TRIGGER audit_events_append_only_delete',
    );
    db.exec(
      'DELETE FROM audit_events WHERE rowid IN (SELECT event FROM audit_payloads WHERE seq > 15)',
    );
    db.exec('DELETE FROM audit_payloads WHERE seq > 15');
    db.close();
    const alone = await runCli(['--db', cut, 'verify']);
    expect(alone.code).toBe(0);
    const run = await runCli([
      '--db',
      cut,
      'verify',
      '--checkpoints',
      checkpoints,
      '--public-key',
      `k1=${pub}`,
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('TAMPERED at #16: cut-tail');
  });

  it('exits 2 for checkpoints or keys it cannot use', async () => {
    const empty = join(dir, 'empty.ndjson');
    writeFileSync(empty, '{"event":{"action":"user.update"}}\n');
    for (const args of [
      ['--checkpoints', empty],
      ['--checkpoints', join(dir, 'missing.ndjson')],
      ['--checkpoints', checkpoints, '--public-key', pub],
      ['--checkpoints', checkpoints, '--public-key', `k1=${join(dir, 'missing.pem')}`],
    ]) {
      const run = await runCli(['--db', file, 'verify', ...args]);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toMatch(/^nestjs-audit: .+\n$/);
    }
  });
});

describe('nestjs-audit verify (postgres)', () => {
  const pg = pgSchema();
  const events = makeEvents(25, (i) => ({
    timestamp: new Date(Date.UTC(2026, 2, 1) + i * 60_000).toISOString(),
  }));
  const args = ['--pg', PG_URL, '--pg-schema', pg.schema];

  beforeAll(async () => {
    await pg.seed(events);
  });

  afterAll(() => pg.drop());

  it('says the trail is intact, then names the event whose outcome someone edited', async () => {
    const intact = await runCli([...args, 'verify']);
    expect(intact.stderr).toBe('');
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/^intact {2}.+: #1 to #25 verified \(25 events\), head #25 /);
    const client = new Client({ connectionString: PG_URL });
    await client.connect();
    try {
      const table = `"${pg.schema}"."audit_events"`;
      await client.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
      await client.query(
        `UPDATE ${table} SET outcome = 'failure' WHERE id = (SELECT event_id FROM "${pg.schema}"."audit_events_chain" WHERE seq = 9)`,
      );
    } finally {
      await client.end();
    }
    const run = await runCli([...args, 'verify', '--format', 'json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      intact: false,
      verifiedTo: 8,
      break: { kind: 'modified', seq: 9 },
    });
  });
});
