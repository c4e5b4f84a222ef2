import request from 'supertest';
import { join } from 'node:path';
import { Body, Controller, Post } from '@nestjs/common';
import { Audited, AuditModule, AuditService } from '../../src';
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

/** Handlers that pass the client's text on as an action, as a careless app would. */
@Controller('actions')
class ActionsController {
  constructor(private readonly audit: AuditService) {}

  @Post('set')
  @Audited('report')
  set(@Body() body: { action: string }): { ok: boolean } {
    this.audit.current()?.setAction(body.action);
    return { ok: true };
  }

  @Post('record')
  async record(@Body() body: { action: string }): Promise<{ refused?: string }> {
    try {
      await this.audit.record({ action: body.action });
      return {};
    } catch (error) {
      return { refused: (error as Error).message };
    }
  }
}

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
      controllers: [NoteOrdersController, ActionsController],
    });
    running.app.useLogger(logger);
  });

  afterAll(async () => {
    await running.close();
    tmp.cleanup();
  });

  beforeEach(() => {
    written.length = 0;
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

  it('refuses an action outside the documented set from setAction() and record()', async () => {
    const attack = `user.delete\r\n${FORGED}`;
    // setAction() throws in the handler: the request fails and is recorded under its own action.
    await request(running.url).post('/actions/set').send({ action: attack }).expect(500);
    const refused = await request(running.url).post('/actions/record').send({ action: attack });
    expect(refused.body.refused).toMatch(
      /^record\(\): action "user\.delete\\r\\n.* is refused: an action is/,
    );
    await request(running.url).post('/actions/record').send({ action: 'report:export/v2.csv' });
    const lines = written
      .join('')
      .split(UNICODE_LINES)
      .filter((line) => line !== '');
    const events = lines.map(
      (line) => JSON.parse(line) as { event: { action: string; outcome: string } },
    );
    // The routes' own events (the undecorated POST /actions/record is recorded as action.create)
    // and the one manual record with a valid action; the attack text is in no action.
    expect(events.map((e) => [e.event.action, e.event.outcome])).toEqual([
      ['report.create', 'failure'],
      ['action.create', 'success'],
      ['report:export/v2.csv', 'success'],
      ['action.create', 'success'],
    ]);
  });
});
