import { Controller, Post } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import request from 'supertest';
import fs, { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  AuditModule,
  AuditService,
  ECS_EVENT_CATEGORIES,
  ECS_EVENT_TYPES,
  InMemoryAuditStore,
} from '../../src';
import { PLATFORMS, startApp, tempDir, type Platform } from '../utils/apps';
import { fixtureApp } from '../utils/users-app';

@Controller('widgets')
class WidgetsController {
  @Post()
  create(): { id: string } {
    return { id: 'w1' };
  }
}

/** The ecs-logging spec's required fields and ECS allowed values. */
function expectEcsLine(raw: string): Record<string, unknown> {
  const line = JSON.parse(raw) as Record<string, unknown>;
  expect(Object.keys(line).slice(0, 4)).toEqual([
    '@timestamp',
    'log.level',
    'message',
    'ecs.version',
  ]);
  expect(line['@timestamp']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  expect(typeof line['log.level']).toBe('string');
  expect(typeof line['message']).toBe('string');
  expect(line['ecs.version']).toMatch(/^\d+\.\d+\.\d+$/);
  expect(line['log.logger']).toBe('audit');
  const event = line['event'] as Record<string, unknown>;
  expect(['success', 'failure', 'unknown']).toContain(event['outcome']);
  expect(event['kind']).toBe('event');
  for (const c of event['category'] as string[]) expect(ECS_EVENT_CATEGORIES).toContain(c);
  for (const t of event['type'] as string[]) expect(ECS_EVENT_TYPES).toContain(t);
  return line;
}

/**
 * Runs `run` while capturing everything written to the process's stdout and stderr (through
 * the Node streams and straight to the descriptors, as pino's destinations do), and returns the
 * audit lines among it. Nothing captured reaches the test output.
 */
async function auditLinesPrinted(run: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const chunks: string[] = [];
  const keep = (data: unknown): number => {
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
    chunks.push(text);
    return Buffer.byteLength(text);
  };
  const writeSync = fs.writeSync.bind(fs) as (...args: unknown[]) => number;
  const spies = [
    jest
      .spyOn(fs, 'writeSync')
      .mockImplementation((fd: number, data: unknown, ...rest: unknown[]) =>
        fd === 1 || fd === 2 ? keep(data) : writeSync(fd, data, ...rest),
      ),
    jest.spyOn(process.stdout, 'write').mockImplementation((data: unknown) => keep(data) >= 0),
    jest.spyOn(process.stderr, 'write').mockImplementation((data: unknown) => keep(data) >= 0),
  ];
  try {
    await run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return chunks
    .join('')
    .split('\n')
    .flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        return parsed['log.logger'] === 'audit' ? [parsed] : [];
      } catch {
        return [];
      }
    });
}

/** Boots the widgets app with the given stream option and sends one audited request. */
async function postWidget(platform: Platform, stream: false | 'stdout'): Promise<void> {
  const running = await startApp(platform, {
    imports: [AuditModule.forRoot({ store: new InMemoryAuditStore(), stream })],
    controllers: [WidgetsController],
  });
  try {
    await request(running.url).post('/widgets').expect(201);
  } finally {
    await running.close();
  }
}

// nestjs-pino 5 keeps one pino-http instance per process (the first app's), so every app in
// this file shares one destination.
const received: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    received.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

describe.each(PLATFORMS)('ECS stream on %s', (platform) => {
  it('writes one valid ECS line per event to a file destination', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'logs', 'audit.ndjson');
    try {
      const running = await startApp(platform, {
        imports: [
          AuditModule.forRoot({
            store: new InMemoryAuditStore(),
            stream: file,
            serviceName: 'fixture',
            exclude: ['/health'],
          }),
        ],
        ...fixtureApp,
      });
      await request(running.url)
        .post('/users')
        .set('user-agent', 'ecs-test')
        .set('x-test-user', JSON.stringify({ id: 'u9', email: 'nine@example.com', roles: ['ops'] }))
        .send({ name: 'Zed', email: 'z@example.com' })
        .expect(201);
      await request(running.url).post('/users/boom').expect(500);
      await running.close();
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(2);
      const created = expectEcsLine(lines[0]!);
      expect(created).toMatchObject({
        'log.level': 'info',
        event: {
          action: 'user.create',
          outcome: 'success',
          dataset: 'fixture.audit',
          category: ['iam'],
        },
        user: { id: 'u9', email: 'nine@example.com', roles: ['ops'] },
        source: { ip: '127.0.0.1' },
        user_agent: { original: 'ecs-test' },
        http: { request: { method: 'POST' }, response: { status_code: 201 } },
        url: { path: '/users' },
        service: { name: 'fixture' },
        audit: { target: { type: 'user', id: '1' } },
      });
      const failed = expectEcsLine(lines[1]!);
      expect(failed).toMatchObject({
        'log.level': 'warn',
        event: { outcome: 'failure' },
        http: { response: { status_code: 500 } },
        error: { type: 'Error', message: 'kaboom' },
      });
    } finally {
      tmp.cleanup();
    }
  });

  it('writes nothing with stream: false', async () => {
    // The same app and capture with the stream on prove the capture sees the module's lines.
    const withStream = await auditLinesPrinted(() => postWidget(platform, 'stdout'));
    expect(withStream.map((l) => (l['event'] as { action: string }).action)).toEqual([
      'widget.create',
    ]);

    const without = await auditLinesPrinted(() => postWidget(platform, false));
    expect(without).toEqual([]);
  });

  it("goes through the app's nestjs-pino logger as a child when the app uses nestjs-pino", async () => {
    received.length = 0;
    const running = await startApp(platform, {
      imports: [
        LoggerModule.forRoot({ pinoHttp: [{ level: 'info', autoLogging: false }, sink] }),
        AuditModule.forRoot({ store: new InMemoryAuditStore(), serviceName: 'piped' }),
      ],
      controllers: [WidgetsController],
    });
    await request(running.url).post('/widgets').expect(201);
    // pino writes these raw in its JSON strings; the audit lines must not break at them.
    const forged = `\u2028${JSON.stringify({ 'log.logger': 'audit', event: { action: 'user.delete' } })}\u2029\u0085`;
    await running.app
      .get(AuditService)
      .record({ action: 'job.run', message: forged, labels: { note: forged } });
    await running.close();
    const audit = received
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['log.logger'] === 'audit');
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ event: { action: 'widget.create', dataset: 'piped.audit' } });
    expect(audit[1]).toMatchObject({
      event: { action: 'job.run' },
      msg: forged,
      labels: { note: forged },
    });
    // Split as a Unicode-aware log shipper would, every line is still whole.
    const pieces = received.join('\n').split(/\r\n|[\n\r\u0085\u2028\u2029]/);
    expect(pieces).toEqual(received);
  });
});
