import request from 'supertest';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AuditModule } from '../../src';
import { eventually } from '../utils/alarm-inbox';
import { PLATFORMS, startApp, tempDir } from '../utils/apps';
import { NoteOrdersController } from '../utils/note-orders';

/** Every file the module creates, with the options that make it create them all. */
function filesIn(dir: string) {
  const files = {
    database: join(dir, 'data', 'audit.db'),
    spool: join(dir, 'audit.spool'),
    stream: join(dir, 'logs', 'audit.ndjson'),
    checkpoints: join(dir, 'checkpoints.ndjson'),
  };
  const options = {
    store: files.database,
    stream: files.stream,
    onStoreFailure: { policy: 'spool' as const, path: files.spool },
    checkpoints: { everyEvents: 2, file: files.checkpoints },
  };
  const paths = [
    files.database,
    `${files.database}-wal`,
    `${files.database}-shm`,
    files.spool,
    `${files.spool}.lock`,
    files.stream,
    files.checkpoints,
  ];
  return { options, paths };
}

const modes = (paths: readonly string[]) =>
  Object.fromEntries(paths.map((path) => [path, `0o${(statSync(path).mode & 0o777).toString(8)}`]));

describe.each(PLATFORMS)('the files the module creates, on %s', (platform) => {
  async function runApp(dir: string, extra: { fileMode?: number } = {}): Promise<string[]> {
    const { options, paths } = filesIn(dir);
    const running = await startApp(platform, {
      imports: [AuditModule.forRoot({ ...options, ...extra })],
      controllers: [NoteOrdersController],
    });
    try {
      for (let i = 1; i <= 3; i += 1) {
        await request(running.url)
          .patch(`/orders/${i}`)
          .send({ note: `n${i}` })
          .expect(200);
      }
      // The checkpoint is taken after the commit that reaches everyEvents, not within it.
      await eventually(() => existsSync(paths[paths.length - 1] as string), 'the checkpoints file');
      // Checked while the app runs: the spool's lock and the -wal/-shm files exist until close.
      return Object.values(modes(paths));
    } finally {
      await running.close();
    }
  }

  it("are the owner's alone by default: database, -wal, -shm, spool, lock, stream, checkpoints", async () => {
    const { dir, cleanup } = tempDir();
    try {
      expect(await runApp(dir)).toEqual(Array(7).fill('0o600'));
    } finally {
      cleanup();
    }
  });

  it('follow fileMode, e.g. 0o640 for a log shipper of the same group', async () => {
    const { dir, cleanup } = tempDir();
    const umask = process.umask(0o022);
    try {
      expect(await runApp(dir, { fileMode: 0o640 })).toEqual(Array(7).fill('0o640'));
    } finally {
      process.umask(umask);
      cleanup();
    }
  });
});
