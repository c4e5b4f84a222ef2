import request from 'supertest';
import { join } from 'node:path';
import { AuditModule } from '../../src';
import { CapturingLogger } from '../utils/api-app';
import { PLATFORMS, startApp, tempDir, type RunningApp } from '../utils/apps';
import { NoteOrdersController } from '../utils/note-orders';

/** A whole audit line an attacker would like the log pipeline to read as real. */
const FORGED = JSON.stringify({
  '@timestamp': '2020-01-01T00:00:00.000Z',
  'log.logger': 'audit',
  event: { action: 'user.delete', outcome: 'success' },
  user: { id: 'admin' },
});

/** How a Unicode-aware log shipper splits a stream into lines. */
const UNICODE_LINES = /\r\n|[\n\r\u0085\u2028\u2029]/;

describe.each(PLATFORMS)('lines an attacker cannot forge, on %s', (platform) => {
  let running: RunningApp;
  let tmp: ReturnType<typeof tempDir>;
  const written: string[] = [];
  const logger = new CapturingLogger();

  beforeAll(async () => {
    tmp = tempDir();
    running = await startApp(platform, {
      imports: [
        AuditModule.forRoot({
          store: join(tmp.dir, 'audit.db'),
          stream: { write: (text: string) => written.push(text) > 0 },
          checkpoints: false,
          // An option function whose error quotes the request, as real ones do.
          actor: (req) => {
            const { note } = (req.body ?? {}) as { note?: string };
            throw new Error(`no session for the author of ${String(note)}`);
          },
        }),
      ],
      controllers: [NoteOrdersController],
    });
    running.app.useLogger(logger);
  });

  afterAll(async () => {
    await running.close();
    tmp.cleanup();
  });

  it('prints no line of its own and no audit line that the request wrote', async () => {
    for (const [open, close] of [
      ['\n', '\n'],
      ['\r\n', '\r\n'],
      ['\u2028', '\u2029'],
      ['\u0085', '\u0085'],
    ]) {
      // The path (kept short: Fastify caps a parameter at 100 characters) and the body.
      const id = encodeURIComponent(`${open}7${close}`);
      await request(running.url)
        .patch(`/orders/${id}`)
        .send({ note: `${open}${FORGED}${close}` })
        .expect(200);
    }
    // The warnings quote the request, each on one line.
    const warnings = logger.messages('warn').filter((m) => m.includes('"actor" option threw'));
    expect(warnings).toHaveLength(4);
    for (const message of logger.entries.map((e) => e.message)) {
      expect({ message, lines: message.split(UNICODE_LINES).length }).toEqual({
        message,
        lines: 1,
      });
    }
    expect(warnings[0]).toContain('\\u000a{"@timestamp"');
    // The stream holds the four real events, one per line even for a Unicode-aware splitter.
    const lines = written
      .join('')
      .split(UNICODE_LINES)
      .filter((line) => line !== '');
    expect(lines).toHaveLength(4);
    const events = lines.map((line) => JSON.parse(line) as { event: { action: string } });
    expect(events.map((e) => e.event.action)).toEqual(Array(4).fill('order.update'));
  });
});
