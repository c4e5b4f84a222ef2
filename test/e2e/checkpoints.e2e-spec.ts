import Database from 'better-sqlite3';
import request from 'supertest';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuditModule } from '../../src';
import { parseCheckpointLines, signatureProblem } from '../../src/integrity/checkpoint';
import { PLATFORMS, startApp, tempDir } from '../utils/apps';
import { verifySqliteFile } from '../utils/chain-check';
import { NoteOrdersController } from '../utils/note-orders';

const verifyFile = verifySqliteFile;

describe.each(PLATFORMS)('checkpoints of the chain on %s', (platform) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicKeys = new Map([['k1', publicKey]]);

  it('writes signed checkpoints to the stream and the file, and they show a cut tail', async () => {
    const { dir, cleanup } = tempDir();
    const db = join(dir, 'audit.db');
    const stream = join(dir, 'audit.ndjson');
    const file = join(dir, 'checkpoints.ndjson');
    const running = await startApp(platform, {
      imports: [
        AuditModule.forRoot({
          store: db,
          stream,
          checkpoints: { everyEvents: 5, signingKey: privateKey, keyId: 'k1', file },
        }),
      ],
      controllers: [NoteOrdersController],
    });
    try {
      for (let i = 1; i <= 12; i += 1) {
        await request(running.url)
          .patch(`/orders/${i}`)
          .send({ note: `n${i}` })
          .expect(200);
      }
    } finally {
      await running.close();
    }
    try {
      const fromStream = parseCheckpointLines(readFileSync(stream, 'utf8'));
      const fromFile = parseCheckpointLines(readFileSync(file, 'utf8'));
      expect(fromFile).toEqual(fromStream);
      // One after each 5 events at least, and the last at shutdown, covering all 12.
      expect(fromStream.length).toBeGreaterThanOrEqual(3);
      expect(fromStream.at(-1)?.seq).toBe(12);
      const seqs = fromStream.map((c) => c.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      for (const checkpoint of fromStream) {
        expect(signatureProblem(checkpoint, publicKeys)).toBeUndefined();
      }
      expect(await verifyFile(db, { checkpoints: fromStream, publicKeys })).toMatchObject({
        intact: true,
        verifiedTo: 12,
        checkpoints: fromStream.length,
      });

      // Someone with the file removes the last three events: the chain alone still holds.
      const raw = new Database(db);
      raw.exec(
        'DROP TRIGGER audit_payloads_append_only_delete; DROP TRIGGER audit_events_append_only_delete',
      );
      raw.exec(
        'DELETE FROM audit_events WHERE rowid IN (SELECT event FROM audit_payloads WHERE seq > 9)',
      );
      raw.exec('DELETE FROM audit_payloads WHERE seq > 9');
      raw.close();
      expect(await verifyFile(db, {})).toMatchObject({ intact: true, verifiedTo: 9 });
      expect(await verifyFile(db, { checkpoints: fromStream, publicKeys })).toMatchObject({
        intact: false,
        break: { kind: 'cut-tail', seq: 10 },
      });
    } finally {
      cleanup();
    }
  });

  it('writes heartbeats while nothing happens', async () => {
    const { dir, cleanup } = tempDir();
    const file = join(dir, 'checkpoints.ndjson');
    const running = await startApp(platform, {
      imports: [
        AuditModule.forRoot({
          store: join(dir, 'audit.db'),
          stream: false,
          checkpoints: { intervalMs: 20, file },
        }),
      ],
      controllers: [NoteOrdersController],
    });
    try {
      // Waits for the heartbeats by their count, however slowly a loaded machine runs the timer.
      for (let waited = 0; waited < 600; waited += 1) {
        if (existsSync(file) && parseCheckpointLines(readFileSync(file, 'utf8')).length >= 2) break;
        await sleep(50);
      }
      const beats = parseCheckpointLines(readFileSync(file, 'utf8'));
      expect(beats.length).toBeGreaterThanOrEqual(2);
      expect(beats.slice(0, 2)).toMatchObject([
        { seq: 0, hash: '' },
        { seq: 0, hash: '' },
      ]);
      expect(beats[0]?.signature).toBeUndefined();
    } finally {
      await running.close();
      cleanup();
    }
  });
});
